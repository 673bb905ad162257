import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
} from '../../src/sandbox/eposlovanje-simulator.js';
import { randomOib } from '../support/builders.js';

// The official samples carry this dummy supplier OIB.
const SAMPLE_OIB = '12345678901';
const KEY = 'sim-key-sample-oib';
const OTHER_KEY = 'sim-key-other-oib';

const invoice = readFileSync(
  new URL(
    '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
  'utf8',
);

let sim: EposlovanjeSimulator;

beforeAll(async () => {
  sim = await startEposlovanjeSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerKey(KEY, SAMPLE_OIB);
  sim.registerKey(OTHER_KEY, randomOib());
});

async function call(
  method: 'GET' | 'POST',
  path: string,
  key: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${sim.url}/api/v2/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const isJson = response.headers.get('content-type')?.includes('json');
  const text = await response.text();
  return { status: response.status, json: isJson ? JSON.parse(text) : text };
}

const send = (key: string, body: unknown) =>
  call('POST', 'document/send', key, body);

describe('API key', () => {
  it('answers 401 with an error when the key is missing', async () => {
    const reply = await call('GET', 'ping', undefined);

    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({ error: expect.any(String) });
  });

  it('answers 401 to an unknown key and to a revoked one', async () => {
    expect((await call('GET', 'ping', 'nobody')).status).toBe(401);

    sim.revokeKey(KEY);

    expect((await call('GET', 'ping', KEY)).status).toBe(401);
  });

  it('wants the raw key, without a scheme', async () => {
    expect((await call('GET', 'ping', `Bearer ${KEY}`)).status).toBe(401);
    expect((await call('GET', 'ping', KEY)).status).toBe(200);
  });
});

describe('POST document/send', () => {
  it('accepts a sample and returns id, insertedOn and message', async () => {
    const reply = await send(KEY, { document: invoice, softwareId: 'tg' });

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      id: expect.any(Number),
      insertedOn: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      message: expect.any(String),
    });
    expect(sim.documents()).toEqual([
      expect.objectContaining({
        id: String((reply.json as { id: number }).id),
        oib: SAMPLE_OIB,
        documentNumber: '1-P1-1',
        xml: invoice,
        softwareId: 'tg',
      }),
    ]);
  });

  it('lists every missing field in details', async () => {
    const reply = await send(KEY, {});

    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: expect.any(String),
      details: [
        expect.stringContaining('document'),
        expect.stringContaining('softwareId'),
      ],
    });
  });

  it('answers 400 Validation failed to a schema-invalid UBL', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');

    const reply = await send(KEY, { document: broken, softwareId: 'tg' });

    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: 'Validation failed' });
    expect((reply.json as { details: string[] }).details[0]).toMatch(
      /IssueDate/,
    );
    expect(sim.documents()).toHaveLength(0);
  });

  it('answers 400 to a document that is not XML', async () => {
    const reply = await send(KEY, { document: 'hello', softwareId: 'tg' });

    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: 'Validation failed' });
  });

  it('answers 403 when the supplier OIB is not the key OIB', async () => {
    const reply = await send(OTHER_KEY, {
      document: invoice,
      softwareId: 'tg',
    });

    expect(reply.status).toBe(403);
    expect(reply.json).toEqual({ error: expect.any(String) });
    expect(sim.documents()).toHaveLength(0);
  });
});

describe('GET document/status/{id}', () => {
  it('answers SENT for a document of the key OIB', async () => {
    const sent = await send(KEY, { document: invoice, softwareId: 'tg' });
    const { id } = sent.json as { id: number };

    const reply = await call('GET', `document/status/${id}`, KEY);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id, status: 'SENT' });
  });

  it('answers 404 for an unknown id and for another OIB', async () => {
    const sent = await send(KEY, { document: invoice, softwareId: 'tg' });
    const { id } = sent.json as { id: number };

    expect((await call('GET', 'document/status/1', KEY)).status).toBe(404);
    expect((await call('GET', `document/status/${id}`, OTHER_KEY)).status).toBe(
      404,
    );
  });

  it('has no lookup by document number (the real API has none)', async () => {
    await send(KEY, { document: invoice, softwareId: 'tg' });

    // The outgoing listing ignores the filter: the client filters itself.
    const reply = await call(
      'GET',
      'document/outgoing?documentNumber=no-such-number',
      KEY,
    );

    expect(reply.status).toBe(200);
    expect(reply.json).toHaveLength(1);
  });
});

describe('fault injection', () => {
  it('answers the injected status the given number of times', async () => {
    sim.injectFault({ kind: 'status', status: 503, times: 2 });

    expect((await call('GET', 'ping', KEY)).status).toBe(503);
    expect(
      (await send(KEY, { document: invoice, softwareId: 'tg' })).status,
    ).toBe(503);
    expect((await call('GET', 'ping', KEY)).status).toBe(200);
    expect(sim.documents()).toHaveLength(0);
  });

  it('drop-reply stores the document and closes without a reply', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    await expect(
      send(KEY, { document: invoice, softwareId: 'tg' }),
    ).rejects.toThrow();

    expect(sim.documents()).toHaveLength(1);
  });

  it('latency delays the reply', async () => {
    sim.injectFault({ kind: 'latency', ms: 300 });
    const started = performance.now();

    await call('GET', 'ping', KEY);

    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('reset forgets pending faults, documents and keys', async () => {
    await send(KEY, { document: invoice, softwareId: 'tg' });
    sim.injectFault({ kind: 'status', status: 500 });

    sim.reset();

    expect(sim.documents()).toHaveLength(0);
    expect((await call('GET', 'ping', KEY)).status).toBe(401);
  });
});
