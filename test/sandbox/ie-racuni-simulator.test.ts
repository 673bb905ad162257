import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startIeRacuniSimulator,
  type IeRacuniSimulator,
} from '../../src/sandbox/ie-racuni-simulator.js';

// The official samples carry these dummy OIBs.
const SUPPLIER = '12345678901';
const CUSTOMER = '11111111119';
const BASIC = `Basic ${Buffer.from('integ:secret-1').toString('base64')}`;
const SELLER = { authorization: BASIC, oib: SUPPLIER, token: 'tok-s' };
const BUYER = { authorization: BASIC, oib: CUSTOMER, token: 'tok-b' };

const invoice = readFileSync(
  new URL(
    '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
  'utf8',
);
const base64 = (xml: string) => Buffer.from(xml).toString('base64');

let sim: IeRacuniSimulator;

beforeAll(async () => {
  sim = await startIeRacuniSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerIntegrator('integ', 'secret-1');
  sim.registerTenant(SUPPLIER, 'tok-s');
  sim.registerTenant(CUSTOMER, 'tok-b');
  sim.setProcessing('manual');
});

async function call(
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(`${sim.url}/api/v4/${path}`, {
    method,
    headers: {
      ...headers,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('json');
  return {
    status: response.status,
    json: isJson ? JSON.parse(text) : text,
    headers: response.headers,
  };
}

const importDoc = (xml: string, headers = SELLER) =>
  call('POST', 'import', headers, { type: 'INVOICE', file: base64(xml) });

describe('authentication', () => {
  it('answers 401 without the integrator Basic credentials', async () => {
    const reply = await call('GET', 'ping', { ...SELLER, authorization: '' });

    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({
      code: 'UNAUTHORIZED',
      message: expect.any(String),
    });
  });

  it('answers 403 to a token of another OIB and to a revoked tenant', async () => {
    expect(
      (await call('GET', 'ping', { ...SELLER, token: 'tok-b' })).status,
    ).toBe(403);

    sim.revokeTenant(SUPPLIER);

    expect((await call('GET', 'ping', SELLER)).status).toBe(403);
  });
});

describe('asynchronous import', () => {
  it('accepts with 202 and an importId, QUEUED until processed, then DONE with a document', async () => {
    const accepted = await importDoc(invoice);
    const { importId } = accepted.json as { importId: string };

    expect(accepted.status).toBe(202);
    expect(
      (await call('GET', `import/${importId}`, SELLER)).json,
    ).toMatchObject({
      status: 'QUEUED',
    });

    await sim.processImports();

    const done = (await call('GET', `import/${importId}`, SELLER)).json as {
      status: string;
      documentId: string;
    };
    expect(done.status).toBe('DONE');
    expect(sim.documents()).toEqual([
      expect.objectContaining({
        documentId: done.documentId,
        senderOib: SUPPLIER,
        recipientOib: CUSTOMER,
        number: '1-P1-1',
      }),
    ]);
  });

  it('fails a schema-invalid import with its findings', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');
    const { importId } = (await importDoc(broken)).json as { importId: string };

    await sim.processImports();

    expect((await call('GET', `import/${importId}`, SELLER)).json).toEqual({
      importId,
      status: 'FAILED',
      errors: [{ code: 'SCHEMA', message: expect.stringMatching(/IssueDate/) }],
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('answers 400 with field errors to a malformed request', async () => {
    const reply = await call('POST', 'import', SELLER, { type: 'X', file: '' });

    expect(reply.status).toBe(400);
    expect(
      (reply.json as { errors: { field: string }[] }).errors.map(
        (e) => e.field,
      ),
    ).toEqual(['type', 'file']);
  });

  it('hides an import from another tenant', async () => {
    const { importId } = (await importDoc(invoice)).json as {
      importId: string;
    };

    expect((await call('GET', `import/${importId}`, BUYER)).status).toBe(404);
  });
});

describe('listings', () => {
  it('lists queued imports as outgoing, and delivered documents in the recipient inbox by seq', async () => {
    await importDoc(invoice);
    const queued = (
      await call('GET', 'documents/outgoing?number=1-P1-1', SELLER)
    ).json;
    await sim.processImports();
    const inbox = (
      await call('GET', 'documents/incoming?after=0&limit=10', BUYER)
    ).json as {
      items: { seq: number; number: string }[];
    };
    const after = (
      await call(
        'GET',
        `documents/incoming?after=${inbox.items[0]?.seq}`,
        BUYER,
      )
    ).json;

    expect(queued).toEqual({
      items: [expect.objectContaining({ number: '1-P1-1', status: 'QUEUED' })],
    });
    expect(inbox.items.map((i) => i.number)).toEqual(['1-P1-1']);
    expect(after).toEqual({ items: [] });
  });
});

describe('fault injection', () => {
  it('answers 429 with Retry-After and imports nothing', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 4 });

    const reply = await importDoc(invoice);

    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('4');
    expect(sim.imports()).toHaveLength(0);
  });

  it('drop-reply keeps the import and closes without a reply', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    await expect(importDoc(invoice)).rejects.toThrow();

    expect(sim.imports()).toHaveLength(1);
  });
});
