import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ReceiptInput } from '../../src/fiscal/receipt.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import type { CertificateSigner, Vault } from '../../src/vault/vault.js';

const run = promisify(execFile);

export const CERTS_DIR = fileURLToPath(
  new URL('../../fixtures/cis/certs/', import.meta.url),
);

/** A fixture file of fixtures/cis/certs. */
export function certFile(name: string): Buffer {
  return readFileSync(join(CERTS_DIR, name));
}

/** The PKCS#12 files and passwords of the fixture, by tenant. */
export const P12 = {
  a: { file: 'tenant-a.p12', password: 'demo-pass-A', oib: '12345678903' },
  b: {
    file: 'tenant-b-legacy.p12',
    password: 'demo-pass-B',
    oib: '98765432198',
  },
  c: {
    file: 'tenant-c-expired.p12',
    password: 'demo-pass-C',
    oib: '24715430428',
  },
} as const;

/** A signer capability over a fixture PKCS#12, through a real vault. */
export function fixtureSigner(
  vault: Vault,
  tenant: keyof typeof P12,
): CertificateSigner {
  const binding: SecretBinding = {
    purpose: 'integration-account',
    companyId: `co_${tenant}`,
    accountId: `acc_${tenant}`,
  };
  const p12 = P12[tenant];
  const envelope = vault.seal(
    packPkcs12(certFile(p12.file), p12.password),
    binding,
  );
  return vault.signerFor(envelope, binding);
}

/** A plain card receipt of tenant a with 25 % VAT. */
export function receiptOf(overrides: Partial<ReceiptInput> = {}): ReceiptInput {
  return {
    oib: P12.a.oib,
    inVatSystem: true,
    issuedAt: new Date('2026-05-15T08:20:30Z'),
    sequenceMark: 'P',
    number: '7',
    premises: 'POSL1',
    device: '2',
    vat: [{ rate: '25.00', base: '987.60', amount: '246.90' }],
    total: '1234.50',
    paymentMethod: 'K',
    operatorOib: '24715430428',
    ...overrides,
  };
}

/**
 * Verifies an enveloped signature with Debian's xmlsec1 against the
 * demo CA: the independent verifier. Returns its exit code and output.
 */
export async function xmlsecVerify(
  xml: string,
  idElement = 'RacunZahtjev',
): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tg-xmlsec-'));
  const path = join(dir, `${randomUUID()}.xml`);
  try {
    await writeFile(path, xml);
    const { stdout, stderr } = await run('xmlsec1', [
      '--verify',
      '--enabled-key-data',
      'x509',
      '--id-attr:Id',
      `http://www.apis-it.hr/fin/2012/types/f73:${idElement}`,
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
