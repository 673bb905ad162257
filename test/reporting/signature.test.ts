import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  all,
  attr,
  kid,
  kids,
  text,
  type UblElement,
} from '../../src/einvoice/rules/dom.js';
import {
  buildEvidentirajERacun,
  buildEvidentirajNaplatu,
  EFISKALIZACIJA_NS,
  EIZVJESTAVANJE_NS,
  invoiceReportFromUbl,
} from '../../src/reporting/messages/index.js';
import { signXades } from '../../src/reporting/xades.js';
import type { SignatureHash } from '../../src/fiscal/zki.js';
import type { CertificateSigner } from '../../src/vault/vault.js';
import {
  CERTS_DIR,
  fixtureSigners,
  requestElement,
  sampleXml,
  ublSample,
} from './support.js';

const run = promisify(execFile);
const signers = fixtureSigners();

/**
 * Debian's xmlsec1, the independent verifier: trusts only the demo CA,
 * resolves the root's `id` and SignedProperties' `Id`.
 */
async function xmlsec(
  xml: string,
  root: string,
): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tg-xades-'));
  const path = join(dir, `${randomUUID()}.xml`);
  try {
    await writeFile(path, xml);
    const { stdout, stderr } = await run('xmlsec1', [
      '--verify',
      '--enabled-key-data',
      'x509',
      '--id-attr:id',
      root,
      '--id-attr:Id',
      'http://uri.etsi.org/01903/v1.3.2#:SignedProperties',
      '--trusted-pem',
      join(CERTS_DIR, 'demo-ca.crt'),
      path,
    ]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ERACUN_ROOT = `${EFISKALIZACIJA_NS}:EvidentirajERacunZahtjev`;

function eRacunXml(): string {
  const record = invoiceReportFromUbl(ublSample('eRacun_PDV25.xml'));
  record.issueDate = '2026-02-01';
  return buildEvidentirajERacun([record], { direction: 'I' }).xml;
}

/** Counts what goes through the vault's signing capability. */
function countingSigner(inner: CertificateSigner) {
  const calls: { bytes: number; hash: SignatureHash }[] = [];
  const signer: CertificateSigner = {
    keyVersion: inner.keyVersion,
    certificate: inner.certificate,
    certificateDer: () => inner.certificateDer(),
    sign: (data, hash) => {
      calls.push({ bytes: data.length, hash });
      return inner.sign(data, hash);
    },
  };
  return { signer, calls };
}

function signatureOf(xml: string): UblElement {
  const root = requestElement(xml);
  const last = kids(root).at(-1);
  if (last?.localName !== 'Signature') throw new Error('no signature');
  return last;
}

describe('XAdES-B verified by xmlsec1 (independent verifier)', () => {
  it('an EvidentirajERacun signature verifies, both references', async () => {
    const signed = signXades(eRacunXml(), signers.a);

    const result = await xmlsec(signed, ERACUN_ROOT);

    expect(result.ok).toBe(true);
    expect(result.output).toContain('OK');
    expect(result.output).toContain('SignedInfo References (ok/all): 2/2');
  });

  it('an EvidentirajNaplatu signature verifies', async () => {
    const message = buildEvidentirajNaplatu([
      {
        number: 'R-1',
        issueDate: '2026-02-01',
        issuerOib: '12345678903',
        recipientOib: '98765432198',
        paidOn: '2026-02-10',
        amount: '125.00',
        method: 'T',
      },
    ]);
    const signed = signXades(message.xml, signers.b);

    const result = await xmlsec(
      signed,
      `${EIZVJESTAVANJE_NS}:EvidentirajNaplatuZahtjev`,
    );

    expect(result.output).toContain('2/2');
    expect(result.ok).toBe(true);
  });

  it('a changed amount fails verification', async () => {
    const signed = signXades(eRacunXml(), signers.a);
    const tampered = signed.replace(
      '<efis:iznosSPdv>125.00<',
      '<efis:iznosSPdv>1.00<',
    );

    expect(tampered).not.toBe(signed);
    expect((await xmlsec(tampered, ERACUN_ROOT)).ok).toBe(false);
  });

  it('a changed signing time (SignedProperties) fails verification', async () => {
    const signed = signXades(eRacunXml(), signers.a, {
      signingTime: new Date('2026-03-01T10:00:00Z'),
    });
    const tampered = signed.replace(
      '<xades:SigningTime>2026-03-01T10:00:00Z<',
      '<xades:SigningTime>2026-03-02T10:00:00Z<',
    );

    expect(tampered).not.toBe(signed);
    expect((await xmlsec(tampered, ERACUN_ROOT)).ok).toBe(false);
  });
});

describe('what the signature carries', () => {
  it('is computed once by the vault capability, RSA-SHA256', () => {
    const { signer, calls } = countingSigner(signers.a);

    signXades(eRacunXml(), signer);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.hash).toBe('sha256');
  });

  it('SigningTime, and SigningCertificate with the certificate digest, issuer and serial', () => {
    const signed = signXades(eRacunXml(), signers.a, {
      signingTime: new Date('2026-03-01T10:00:00.500Z'),
    });
    const properties = all(
      signatureOf(signed),
      'Object/QualifyingProperties/SignedProperties/SignedSignatureProperties',
    )[0];
    const cert = all(properties, 'SigningCertificate/Cert')[0];

    expect(text(kid(properties, 'SigningTime'))).toBe('2026-03-01T10:00:00Z');
    expect(text(all(cert, 'CertDigest/DigestValue')[0])).toBe(
      createHash('sha256').update(signers.a.certificateDer()).digest('base64'),
    );
    expect(attr(all(cert, 'CertDigest/DigestMethod')[0], 'Algorithm')).toBe(
      'http://www.w3.org/2001/04/xmlenc#sha256',
    );
    expect(text(all(cert, 'IssuerSerial/X509IssuerName')[0])).toBe(
      signers.a.certificate.issuer,
    );
    expect(text(all(cert, 'IssuerSerial/X509SerialNumber')[0])).toBe(
      signers.a.certificate.serialDecimal,
    );
  });
});

describe('the structure matches the official signed samples', () => {
  /** What a signature's SignedInfo, ids and KeyInfo look like. */
  function shape(signature: UblElement) {
    const info = kid(signature, 'SignedInfo');
    const refs = kids(info, 'Reference');
    return {
      c14n: attr(kid(info, 'CanonicalizationMethod'), 'Algorithm'),
      method: attr(kid(info, 'SignatureMethod'), 'Algorithm'),
      references: refs.length,
      firstId: (attr(refs[0], 'Id') ?? '').startsWith('r-id-'),
      firstLastTransform: attr(
        kids(kid(refs[0], 'Transforms'), 'Transform').at(-1),
        'Algorithm',
      ),
      second: {
        type: attr(refs[1], 'Type'),
        uri: (attr(refs[1], 'URI') ?? '').startsWith('#xades-id-'),
        transforms: kids(kid(refs[1], 'Transforms'), 'Transform').map((t) =>
          attr(t, 'Algorithm'),
        ),
      },
      digests: refs.map((r) => attr(kid(r, 'DigestMethod'), 'Algorithm')),
      valueId: (attr(kid(signature, 'SignatureValue'), 'Id') ?? '').startsWith(
        'value-id-',
      ),
      keyInfo: all(signature, 'KeyInfo/X509Data/X509Certificate').length,
    };
  }

  it.each([
    'signed_EvidentirajEracunZahtjev_PDV25.xml',
    'EvidentirajNaplatu.xml',
    'EvidentirajOdbijanje.xml',
  ])('same algorithms, references and ids as %s', (name) => {
    const official = signatureOf(sampleXml(name));
    const ours = signatureOf(signXades(eRacunXml(), signers.a));

    expect(shape(ours)).toEqual(shape(official));
  });

  it('the document reference covers the root without the signature, as the samples’ XPath filter does', () => {
    const official = kid(
      signatureOf(sampleXml('signed_EvidentirajEracunZahtjev_PDV25.xml')),
      'SignedInfo',
    );
    const signed = signXades(eRacunXml(), signers.a);
    const ours = kid(signatureOf(signed), 'SignedInfo');
    const rootId = attr(requestElement(signed), 'efis:id');

    // Samples: URI="" with XPath filter 2.0 subtracting ds:Signature.
    expect(attr(kids(official, 'Reference')[0], 'URI')).toBe('');
    expect(
      text(
        all(kids(official, 'Reference')[0], 'Transforms/Transform/XPath')[0],
      ),
    ).toBe('/descendant::ds:Signature');
    // Ours: the root by its namespaced id, enveloped-signature transform.
    expect(attr(kids(ours, 'Reference')[0], 'URI')).toBe(`#${rootId}`);
    expect(
      attr(
        all(kids(ours, 'Reference')[0], 'Transforms/Transform')[0],
        'Algorithm',
      ),
    ).toBe('http://www.w3.org/2000/09/xmldsig#enveloped-signature');
  });
});
