import { readdirSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import { createEposlovanjeClient } from '../../src/einvoice/eposlovanje-client.js';
import type { RequestAuthoriser } from '../../src/einvoice/intermediary.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
} from '../../src/sandbox/eposlovanje-simulator.js';
import { randomOib } from '../support/builders.js';

// The official samples carry this dummy supplier OIB.
const SAMPLE_OIB = '12345678901';
const API_KEY = 'ep-key-7f3a9c1e5b2d4f60';
const OTHER_OIB_KEY = 'ep-key-of-another-company-0042';
const SOFTWARE_ID = 'TenantGate-test';

const SAMPLES_DIR = new URL(
  '../../fixtures/hr-einvoice-samples/',
  import.meta.url,
);
const SAMPLE_NAMES = readdirSync(SAMPLES_DIR).filter((n) => n.endsWith('.xml'));
const sample = (name: string) =>
  readFileSync(new URL(name, SAMPLES_DIR), 'utf8');
const invoice = sample('eRacun_PDV25.xml');

/** Like the vault's API key authoriser: it sets the header, no more. */
function authoriser(apiKey: string): RequestAuthoriser {
  return {
    keyVersion: 'v1',
    authorise: (headers) => {
      headers.authorization = apiKey;
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<TenantGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantGateError);
  return error as TenantGateError;
}

let sim: EposlovanjeSimulator;
let client: ReturnType<typeof createEposlovanjeClient>;
const seenErrors: TenantGateError[] = [];

beforeAll(async () => {
  sim = await startEposlovanjeSimulator();
  client = createEposlovanjeClient({
    baseUrl: sim.url,
    softwareId: SOFTWARE_ID,
    timeoutMs: 10_000,
  });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerKey(API_KEY, SAMPLE_OIB);
  sim.registerKey(OTHER_OIB_KEY, randomOib());
});

async function sendFailure(
  xml: string,
  key: string,
  c = client,
): Promise<TenantGateError> {
  const error = await failure(c.send({ ublXml: xml }, authoriser(key)));
  seenErrors.push(error);
  return error;
}

describe('sending the official samples', () => {
  it.each(SAMPLE_NAMES)('%s is accepted', async (name) => {
    const result = await client.send(
      { ublXml: sample(name) },
      authoriser(API_KEY),
    );

    const stored = sim.documents();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: result.providerRef,
      oib: SAMPLE_OIB,
      xml: sample(name),
      softwareId: SOFTWARE_ID,
    });
    expect(result.acceptedAt).toBe(stored[0]?.insertedOn);
  });

  it('reads the status of a sent document', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      authoriser(API_KEY),
    );

    const status = await client.status(providerRef, authoriser(API_KEY));

    expect(status).toEqual({ providerRef, status: 'SENT' });
  });

  it('pings with a valid key', async () => {
    await expect(client.ping(authoriser(API_KEY))).resolves.toBeUndefined();
  });
});

describe('refusals', () => {
  it('maps a schema-invalid UBL (400) to COUNTERPART_REJECTED with the findings', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');

    const error = await sendFailure(broken, API_KEY);

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({
      status: 400,
      providerKind: 'EINVOICE_EPOSLOVANJE',
      errors: [expect.stringMatching(/IssueDate/)],
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('maps an unknown key (401) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(invoice, 'no-such-key');

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 401 });
  });

  it('maps a key bound to another OIB (403) to COUNTERPART_AUTH_FAILED', async () => {
    const error = await sendFailure(invoice, OTHER_OIB_KEY);

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
    expect(error.details).toMatchObject({ status: 403 });
    expect(sim.documents()).toHaveLength(0);
  });

  it('maps a ping with an unknown key to COUNTERPART_AUTH_FAILED', async () => {
    const error = await failure(client.ping(authoriser('no-such-key')));

    expect(error.code).toBe('COUNTERPART_AUTH_FAILED');
  });

  it('does not show another OIB the status of a document', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      authoriser(API_KEY),
    );

    const error = await failure(
      client.status(providerRef, authoriser(OTHER_OIB_KEY)),
    );

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details).toMatchObject({ status: 404 });
  });
});

describe('counterpart unavailable: nothing was accepted, retry is safe', () => {
  it.each([500, 502, 503] as const)(
    'maps %i to a retryable COUNTERPART_UNAVAILABLE',
    async (status) => {
      sim.injectFault({ kind: 'status', status });

      const error = await sendFailure(invoice, API_KEY);

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.details).toMatchObject({ status });
      expect(sim.documents()).toHaveLength(0);
    },
  );

  it('maps a stopped simulator (connection refused) to COUNTERPART_UNAVAILABLE', async () => {
    const down = await startEposlovanjeSimulator();
    const downClient = createEposlovanjeClient({
      baseUrl: down.url,
      softwareId: SOFTWARE_ID,
    });
    await down.close();

    const error = await sendFailure(invoice, API_KEY, downClient);

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ reason: 'not_connected' });
    expect(error.cause).toBeDefined();
  });
});

describe('send outcome unknown: the document may have arrived', () => {
  it('maps a lost reply to SEND_OUTCOME_UNKNOWN while the document was stored', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    const error = await sendFailure(invoice, API_KEY);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({ reason: 'connection_lost' });
    expect(error.cause).toBeDefined();
    expect(sim.documents()).toHaveLength(1);
  });

  it('maps a reply slower than the timeout to SEND_OUTCOME_UNKNOWN', async () => {
    const impatient = createEposlovanjeClient({
      baseUrl: sim.url,
      softwareId: SOFTWARE_ID,
      timeoutMs: 300,
    });
    sim.injectFault({ kind: 'latency', ms: 1_500 });

    const error = await sendFailure(invoice, API_KEY, impatient);

    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
    expect(error.details).toMatchObject({ reason: 'timeout', timeoutMs: 300 });
    // The service went on and stored it: a blind resend would duplicate.
    await vi.waitFor(() => expect(sim.documents()).toHaveLength(1), {
      timeout: 15_000,
    });
  });
});

describe('secrets and documents stay out of errors', () => {
  it('no error seen above carries the api key or the document', () => {
    const codes = new Set(seenErrors.map((e) => e.code));
    expect(codes).toEqual(
      new Set([
        'COUNTERPART_REJECTED',
        'COUNTERPART_AUTH_FAILED',
        'COUNTERPART_UNAVAILABLE',
        'SEND_OUTCOME_UNKNOWN',
      ]),
    );

    for (const error of seenErrors) {
      const json = JSON.stringify(error);
      const full = inspect(error, { depth: 10 });
      for (const text of [json, full]) {
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain(OTHER_OIB_KEY);
        expect(text).not.toContain('<Invoice');
      }
    }
  });
});
