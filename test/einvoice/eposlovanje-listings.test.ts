import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
const KEY = 'ep-listing-key-sample';
const OTHER_KEY = 'ep-listing-key-other';
const invoice = readFileSync(
  new URL(
    '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
  'utf8',
);

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
let otherOib: string;

beforeAll(async () => {
  sim = await startEposlovanjeSimulator();
  client = createEposlovanjeClient({
    baseUrl: sim.url,
    softwareId: 'TenantGate-test',
    timeoutMs: 10_000,
    pageSize: 2,
  });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  otherOib = randomOib();
  sim.registerKey(KEY, SAMPLE_OIB);
  sim.registerKey(OTHER_KEY, otherOib);
});

/** The sample invoice with another number, so each one is distinct. */
const numbered = (n: string) =>
  invoice.replace(/<cbc:ID>[^<]*<\/cbc:ID>/, `<cbc:ID>${n}</cbc:ID>`);

describe('outgoing listing', () => {
  it('finds a sent document by seller OIB and document number', async () => {
    const sent = await client.send({ ublXml: invoice }, authoriser(KEY));
    await client.send({ ublXml: numbered('OTHER-1') }, authoriser(KEY));

    const found = await client.outgoing(
      {
        sellerOib: SAMPLE_OIB,
        documentNumber: sim.documents()[0]?.documentNumber,
      },
      authoriser(KEY),
    );

    expect(found).toEqual([
      {
        providerRef: sent.providerRef,
        sellerOib: SAMPLE_OIB,
        documentNumber: sim.documents()[0]?.documentNumber,
        status: 'SENT',
        submittedAt: sent.acceptedAt,
      },
    ]);
  });

  it("lists nothing of another company's documents", async () => {
    await client.send({ ublXml: invoice }, authoriser(KEY));

    const found = await client.outgoing(
      { sellerOib: otherOib },
      authoriser(OTHER_KEY),
    );

    expect(found).toEqual([]);
  });

  it('leaves out documents recorded before `since`', async () => {
    await client.send({ ublXml: invoice }, authoriser(KEY));
    const later = new Date(Date.now() + 60_000).toISOString();

    const found = await client.outgoing(
      { sellerOib: SAMPLE_OIB, since: later },
      authoriser(KEY),
    );

    expect(found).toEqual([]);
  });
});

describe('status', () => {
  it('reports the status word the service has for the document', async () => {
    const { providerRef } = await client.send(
      { ublXml: invoice },
      authoriser(KEY),
    );
    sim.setStatus(providerRef, 'DELIVERED');

    const status = await client.status(providerRef, authoriser(KEY));

    expect(status).toEqual({ providerRef, status: 'DELIVERED' });
  });
});

describe('inbox', () => {
  it('pages by offset, oldest first, only for the key’s company', async () => {
    const injected = ['IN-1', 'IN-2', 'IN-3'].map((n) =>
      sim.injectIncoming({ receiverOib: otherOib, xml: numbered(n) }),
    );
    sim.injectIncoming({ receiverOib: randomOib(), xml: numbered('ELSE') });

    const first = await client.incoming(null, authoriser(OTHER_KEY));
    const second = await client.incoming(
      first.nextCursor,
      authoriser(OTHER_KEY),
    );
    const third = await client.incoming(
      second.nextCursor,
      authoriser(OTHER_KEY),
    );

    expect(first.documents.map((d) => d.documentNumber)).toEqual([
      'IN-1',
      'IN-2',
    ]);
    expect(first.nextCursor).toBe('2');
    expect(second.documents).toEqual([
      {
        providerRef: injected[2]?.id,
        senderOib: SAMPLE_OIB,
        documentNumber: 'IN-3',
        receivedAt: injected[2]?.insertedOn,
      },
    ]);
    expect(second.nextCursor).toBe('3');
    expect(third).toEqual({ documents: [], nextCursor: '3' });
  });

  it('fetches the document exactly as it was received', async () => {
    const xml = numbered('IN-RAW');
    const doc = sim.injectIncoming({ receiverOib: otherOib, xml });

    const fetched = await client.fetchDocument(doc.id, authoriser(OTHER_KEY));

    expect(fetched.ublXml).toBe(xml);
  });

  it('cannot fetch a document addressed to another company', async () => {
    const doc = sim.injectIncoming({ receiverOib: otherOib, xml: invoice });

    const error = await failure(client.fetchDocument(doc.id, authoriser(KEY)));

    expect(error.code).toBe('COUNTERPART_REJECTED');
    expect(error.details.status).toBe(404);
  });

  it('fails the second page alone when told to', async () => {
    for (const n of ['IN-1', 'IN-2', 'IN-3']) {
      sim.injectIncoming({ receiverOib: otherOib, xml: numbered(n) });
    }
    sim.injectFault({
      kind: 'status',
      status: 503,
      route: 'incoming',
      skip: 1,
    });

    const first = await client.incoming(null, authoriser(OTHER_KEY));
    const error = await failure(
      client.incoming(first.nextCursor, authoriser(OTHER_KEY)),
    );
    const retried = await client.incoming(
      first.nextCursor,
      authoriser(OTHER_KEY),
    );

    expect(first.documents).toHaveLength(2);
    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(retried.documents.map((d) => d.documentNumber)).toEqual(['IN-3']);
  });

  it('refuses a cursor that is not an offset', async () => {
    const error = await failure(client.incoming('abc', authoriser(KEY)));

    expect(error.code).toBe('INVALID_INPUT');
  });
});

describe('rate limiting', () => {
  it('reports Retry-After with the 429 as retryable', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfter: 2 });

    const error = await failure(client.ping(authoriser(KEY)));

    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect(error.details).toMatchObject({ status: 429, retryAfterMs: 2000 });
  });
});
