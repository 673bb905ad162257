import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isTenantGateError,
  type TenantGateError,
} from '../../src/errors/tenantgate-error.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import { racunZahtjevXml } from '../../src/fiscal/racun.js';
import { prepareReceipt, type ReceiptInput } from '../../src/fiscal/receipt.js';
import {
  signedRacunZahtjev,
  type SignOptions,
} from '../../src/fiscal/signed-request.js';
import { signCisXml } from '../../src/fiscal/xml-signature.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import {
  CERTS_DIR,
  fixtureSigner,
  receiptOf,
  xmlsecVerify,
} from '../fiscal/support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);
const vault = new Vault(
  parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
);
const signerA = fixtureSigner(vault, 'a');
const signerC = fixtureSigner(vault, 'c');

async function failure(promise: Promise<unknown>): Promise<TenantGateError> {
  try {
    await promise;
  } catch (error) {
    if (isTenantGateError(error)) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

function signedA(overrides = {}) {
  return signedRacunZahtjev(prepareReceipt(receiptOf(overrides)), signerA, {
    hash: 'sha256',
  });
}

describe('CIS simulator through the real client', () => {
  let sim: CisSimulator;
  let client: CisClient;

  beforeAll(async () => {
    sim = await startCisSimulator();
    client = new CisClient({ url: sim.url, ca: CA, timeoutMs: 3_000 });
  });
  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('accepts a signed request and answers a fresh JIR', async () => {
    const first = await client.fiscalize(signedA().xml);
    const second = await client.fiscalize(signedA().xml);

    expect(first.jir).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.jir).not.toBe(first.jir);
  });

  it('signs its reply with inclusive c14n, verifiable by xmlsec1', async () => {
    const accepted = await client.fiscalize(signedA().xml);

    expect(accepted.responseXml).toContain('REC-xml-c14n-20010315');
    const check = await xmlsecVerify(accepted.responseXml, 'RacunOdgovor');
    expect(check.output).toContain('OK');
  });

  it('echoes', async () => {
    expect(await client.echo('proba & test')).toBe('proba & test');
  });

  it('s001: a request that breaks the schema', async () => {
    const request = signedA();
    const receipt = prepareReceipt(receiptOf());
    const bad = racunZahtjevXml(receipt, {
      messageId: request.messageId,
      sentAt: new Date(),
      zki: request.zki,
      lateDelivery: false,
    }).replace('<tns:IznosUkupno>1234.50', '<tns:IznosUkupno>1234,50');
    const error = await failure(
      client.fiscalize(signCisXml(bad, signerA, 'sha256')),
    );

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details.cisCode).toBe('s001');
    expect(error.retryable).toBe(false);
  });

  it('s003: a signature without its certificate', async () => {
    const xml = signedA().xml.replace(
      /<X509Certificate>[^<]+<\/X509Certificate>/,
      '',
    );
    const error = await failure(client.fiscalize(xml));
    expect(error.details.cisCode).toBe('s003');
  });

  it('s004: a request changed after signing', async () => {
    const xml = signedA().xml.replace('1234.50', '1.00');
    const error = await failure(client.fiscalize(xml));
    expect(error.details.cisCode).toBe('s004');
  });

  it('s002: an expired certificate', async () => {
    const request = signedRacunZahtjev(
      prepareReceipt(receiptOf({ oib: '24715430428' })),
      signerC,
      { hash: 'sha256' },
    );
    const error = await failure(client.fiscalize(request.xml));
    expect(error.details.cisCode).toBe('s002');
  });

  it('s005: the OIB differs from the certificate’s', async () => {
    const receipt = prepareReceipt(receiptOf({ oib: '98765432198' }));
    const xml = racunZahtjevXml(receipt, {
      messageId: '0b0c0d0e-0f10-4111-8213-141516171819',
      sentAt: new Date(),
      zki: 'a'.repeat(32),
      lateDelivery: false,
    });
    const error = await failure(
      client.fiscalize(signCisXml(xml, signerA, 'sha256')),
    );
    expect(error.details.cisCode).toBe('s005');
  });

  it('s006 is retryable', async () => {
    sim.inject({ kind: 's006' });
    const error = await failure(client.fiscalize(signedA().xml));

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.details.cisCode).toBe('s006');
    expect(error.retryable).toBe(true);
  });

  it('HTTP 503 without a CIS body is retryable', async () => {
    sim.inject({ kind: 'http-503' });
    const error = await failure(client.fiscalize(signedA().xml));
    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
  });

  it('a dropped connection after processing is an unknown outcome', async () => {
    sim.inject({ kind: 'drop-after-processing' });
    const request = signedA();
    const error = await failure(client.fiscalize(request.xml));

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    const seen = sim.received.find((r) => r.messageId === request.messageId);
    expect(seen?.jir).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('latency beyond the client timeout is an unknown outcome', async () => {
    const quick = new CisClient({ url: sim.url, ca: CA, timeoutMs: 200 });
    sim.inject({ kind: 'latency', ms: 600 });
    try {
      const error = await failure(quick.fiscalize(signedA().xml));
      expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    } finally {
      quick.close();
    }
  });

  it('a closed port is unavailable, not unknown', async () => {
    const gone = await startCisSimulator();
    const url = gone.url;
    await gone.close();
    const dead = new CisClient({ url, ca: CA, timeoutMs: 1_000 });
    try {
      const error = await failure(dead.fiscalize(signedA().xml));
      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    } finally {
      dead.close();
    }
  });

  it('refuses a reply signed outside the configured CA', async () => {
    const other = new CisClient({
      url: sim.url,
      ca: CA,
      signerCa: readFileSync(`${CERTS_DIR}/tenant-a.crt`),
      timeoutMs: 3_000,
    });
    try {
      const error = await failure(other.fiscalize(signedA().xml));
      expect(error.code).toBe('COUNTERPART_REPLY_INVALID');
    } finally {
      other.close();
    }
  });
});

describe('CIS simulator date policy', () => {
  it('s004: RSA-SHA1 after the test service’s cut-off', async () => {
    const sim = await startCisSimulator({
      now: () => new Date('2026-08-01T10:00:00Z'),
    });
    const client = new CisClient({ url: sim.url, ca: CA });
    try {
      const sha1 = signedRacunZahtjev(prepareReceipt(receiptOf()), signerA, {
        hash: 'sha1',
      });
      const error = await failure(client.fiscalize(sha1.xml));
      expect(error.details.cisCode).toBe('s004');
      await expect(client.fiscalize(signedA().xml)).resolves.toBeDefined();
    } finally {
      client.close();
      await sim.close();
    }
  });

  it('accepts RSA-SHA1 before the cut-off', async () => {
    const sim = await startCisSimulator({
      now: () => new Date('2026-06-01T10:00:00Z'),
    });
    const client = new CisClient({ url: sim.url, ca: CA });
    try {
      const sha1 = signedRacunZahtjev(prepareReceipt(receiptOf()), signerA, {
        hash: 'sha1',
      });
      await expect(client.fiscalize(sha1.xml)).resolves.toBeDefined();
    } finally {
      client.close();
      await sim.close();
    }
  });
});

describe('CIS simulator strict mode (the test check’s business rules)', () => {
  let strict: CisSimulator;
  let lenient: CisSimulator;
  let strictClient: CisClient;
  let lenientClient: CisClient;

  beforeAll(async () => {
    strict = await startCisSimulator({
      schema: false,
      strict: { issuerKeys: [readFileSync(`${CERTS_DIR}/tenant-a.key`)] },
    });
    lenient = await startCisSimulator({ schema: false });
    strictClient = new CisClient({ url: strict.url, ca: CA });
    lenientClient = new CisClient({ url: lenient.url, ca: CA });
  });
  afterAll(async () => {
    strictClient.close();
    lenientClient.close();
    await strict.close();
    await lenient.close();
  });

  /** A receipt issued a few seconds ago, signed now. */
  function fresh(
    overrides: Partial<ReceiptInput> = {},
    options: Partial<SignOptions> = {},
  ) {
    const receipt = prepareReceipt(
      receiptOf({ issuedAt: new Date(Date.now() - 5_000), ...overrides }),
    );
    return signedRacunZahtjev(receipt, signerA, {
      hash: 'sha256',
      ...options,
    }).xml;
  }

  async function strictCode(xml: string): Promise<unknown> {
    const error = await failure(strictClient.fiscalize(xml));
    expect(error.code).toBe('COUNTERPART_REJECTED');
    return error.details.cisCode;
  }

  it('accepts a consistent receipt sent at once', async () => {
    await expect(strictClient.fiscalize(fresh())).resolves.toMatchObject({
      jir: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('v101: a send time far from the service clock', async () => {
    const xml = fresh(
      { issuedAt: new Date(Date.now() - 3_600_000) },
      { sentAt: new Date(Date.now() - 3_600_000), lateDelivery: true },
    );
    expect(await strictCode(xml)).toBe('v101');
    await expect(lenientClient.fiscalize(xml)).resolves.toBeDefined();
  });

  it('v102: issued after it was sent', async () => {
    const xml = fresh({ issuedAt: new Date(Date.now() + 120_000) });
    expect(await strictCode(xml)).toBe('v102');
  });

  it('v103: sent an hour after issue without NakDost; with it, accepted', async () => {
    const issuedAt = new Date(Date.now() - 3_600_000);
    expect(await strictCode(fresh({ issuedAt }))).toBe('v103');
    await expect(
      strictClient.fiscalize(fresh({ issuedAt }, { lateDelivery: true })),
    ).resolves.toBeDefined();
  });

  it('v104: a VAT amount that is not base × rate', async () => {
    const xml = fresh({
      vat: [{ rate: '25.00', base: '987.60', amount: '200.00' }],
      total: '1187.60',
    });
    expect(await strictCode(xml)).toBe('v104');
    await expect(lenientClient.fiscalize(xml)).resolves.toBeDefined();
  });

  it('v105: a total that is not the sum of its parts', async () => {
    expect(await strictCode(fresh({ total: '1234.60' }))).toBe('v105');
  });

  it('v106: cash above the maximum', async () => {
    const xml = fresh({
      paymentMethod: 'G',
      vat: [{ rate: '25.00', base: '9600.00', amount: '2400.00' }],
      total: '12000.00',
    });
    expect(await strictCode(xml)).toBe('v106');
  });

  it('v107: a ZKI that the issuer’s key does not reproduce', async () => {
    const xml = fresh({}, { zki: 'e4d909c290d0fb1ca068ffaddf22cbd0' });
    expect(await strictCode(xml)).toBe('v107');
    // Without the issuer's key the simulator, like CIS, cannot tell.
    const blind = await startCisSimulator({ schema: false, strict: true });
    const client = new CisClient({ url: blind.url, ca: CA });
    try {
      await expect(client.fiscalize(xml)).resolves.toBeDefined();
    } finally {
      client.close();
      await blind.close();
    }
  });

  it('v108: an operator OIB with a wrong check digit', async () => {
    const receipt = {
      ...prepareReceipt(receiptOf({ issuedAt: new Date(Date.now() - 5_000) })),
      operatorOib: '24715430420',
    };
    const xml = signedRacunZahtjev(receipt, signerA, { hash: 'sha256' }).xml;
    expect(await strictCode(xml)).toBe('v108');
  });
});
