import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startMojEracunSimulator,
  type MojEracunSimulator,
} from '../../src/sandbox/moj-eracun-simulator.js';

// The official samples carry these dummy OIBs.
const SUPPLIER = '12345678901';
const CUSTOMER = '11111111119';
const CREDS = { Username: 'u1', Password: 'p1', CompanyId: SUPPLIER };
const BUYER_CREDS = { Username: 'u2', Password: 'p2', CompanyId: CUSTOMER };

const invoice = readFileSync(
  new URL(
    '../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
  'utf8',
);

let sim: MojEracunSimulator;

beforeAll(async () => {
  sim = await startMojEracunSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.registerAccount({ username: 'u1', password: 'p1', companyId: SUPPLIER });
  sim.registerAccount({ username: 'u2', password: 'p2', companyId: CUSTOMER });
});

async function post(
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const response = await fetch(`${sim.url}/apis/v2/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('json');
  return {
    status: response.status,
    json: isJson ? JSON.parse(text) : undefined,
    text,
    headers: response.headers,
  };
}

const send = (body: object) =>
  post('send', { ...CREDS, SoftwareId: 'tg', ...body });

describe('credentials in the body', () => {
  it('answers 401 with field-keyed errors, never echoing the password', async () => {
    const reply = await post('queryOutbox', { ...CREDS, Password: 'wrong' });

    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({
      Username: { Value: 'u1', Messages: [expect.any(String)] },
    });
    expect(reply.text).not.toContain('wrong');
  });

  it('answers 403 when CompanyId is not the user company', async () => {
    const reply = await post('queryOutbox', { ...CREDS, CompanyId: CUSTOMER });

    expect(reply.status).toBe(403);
    expect(reply.json).toHaveProperty('CompanyId.Messages');
  });

  it('answers Ping without credentials', async () => {
    const response = await fetch(`${sim.url}/apis/v2/Ping`);

    expect(response.status).toBe(200);
  });
});

describe('POST send', () => {
  it('accepts a sample: ElectronicId, status 30, and the recipient', async () => {
    const reply = await send({ File: invoice });

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      ElectronicId: expect.any(Number),
      DocumentNr: '1-P1-1',
      StatusId: 30,
      RecipientBusinessNumber: CUSTOMER,
      Created: expect.stringMatching(/^\d{4}-/),
    });
    expect(sim.documents()).toHaveLength(1);
  });

  it('lists each missing field under its own key (400)', async () => {
    const reply = await post('send', CREDS);

    expect(reply.status).toBe(400);
    expect(Object.keys(reply.json as object).sort()).toEqual([
      'File',
      'SoftwareId',
    ]);
  });

  it('refuses a schema-invalid document with HTTP 200 and File messages', async () => {
    const broken = invoice.replace(/<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/, '');

    const reply = await send({ File: broken });

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      File: { Value: null, Messages: [expect.stringMatching(/IssueDate/)] },
    });
    expect(sim.documents()).toHaveLength(0);
  });

  it('refuses a document of another supplier (403 CompanyId)', async () => {
    const reply = await post('send', {
      ...BUYER_CREDS,
      SoftwareId: 'tg',
      File: invoice,
    });

    expect(reply.status).toBe(403);
    expect(sim.documents()).toHaveLength(0);
  });
});

describe('outbox, inbox and receive', () => {
  it('a sent document is in the sender outbox and the recipient inbox', async () => {
    const sent = (await send({ File: invoice })).json as {
      ElectronicId: number;
    };

    const outbox = await post('queryOutbox', CREDS);
    const inbox = await post('queryInbox', BUYER_CREDS);
    const senderInbox = await post('queryInbox', CREDS);

    expect(outbox.json).toEqual([
      expect.objectContaining({ ElectronicId: sent.ElectronicId }),
    ]);
    expect(inbox.json).toEqual([
      expect.objectContaining({
        ElectronicId: sent.ElectronicId,
        SenderBusinessNumber: SUPPLIER,
      }),
    ]);
    expect(senderInbox.json).toEqual([]);
  });

  it('filters by ElectronicId, StatusId and the From/To window', async () => {
    const old = sim.deliverInbound({
      xml: invoice,
      sentAt: '2026-01-01T00:00:00.000Z',
    });
    const recent = sim.deliverInbound({ xml: invoice });
    sim.setStatus(recent.electronicId, 40);

    const ids = async (filter: object) =>
      (
        (await post('queryInbox', { ...BUYER_CREDS, ...filter })).json as {
          ElectronicId: number;
        }[]
      ).map((d) => d.ElectronicId);

    expect(await ids({ From: '2026-06-01T00:00:00Z' })).toEqual([
      recent.electronicId,
    ]);
    expect(await ids({ To: '2026-06-01T00:00:00Z' })).toEqual([
      old.electronicId,
    ]);
    expect(await ids({ StatusId: 40 })).toEqual([recent.electronicId]);
    expect(await ids({ ElectronicId: old.electronicId })).toEqual([
      old.electronicId,
    ]);
    expect(await ids({ Filter: 'Undelivered' })).toEqual([old.electronicId]);
  });

  it('receive returns the raw XML to the recipient and 404 to others', async () => {
    const doc = sim.deliverInbound({ xml: invoice });
    const stranger = { Username: 'u3', Password: 'p3', CompanyId: '0' };
    sim.registerAccount({ username: 'u3', password: 'p3', companyId: '0' });

    const mine = await post('receive', {
      ...BUYER_CREDS,
      ElectronicId: doc.electronicId,
    });
    const theirs = await post('receive', {
      ...stranger,
      ElectronicId: doc.electronicId,
    });

    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toMatch(/xml/);
    expect(mine.text).toBe(invoice);
    expect(theirs.status).toBe(404);
  });
});

describe('fault injection', () => {
  it('answers 429 with Retry-After and stores nothing', async () => {
    sim.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 3 });

    const reply = await send({ File: invoice });

    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('3');
    expect(sim.documents()).toHaveLength(0);
  });

  it('drop-reply stores the document and closes without a reply', async () => {
    sim.injectFault({ kind: 'drop-reply' });

    await expect(send({ File: invoice })).rejects.toThrow();

    expect(sim.documents()).toHaveLength(1);
  });

  it('reset forgets faults, documents and accounts', async () => {
    await send({ File: invoice });
    sim.injectFault({ kind: 'status', status: 500 });

    sim.reset();

    expect(sim.documents()).toHaveLength(0);
    expect((await post('queryOutbox', CREDS)).status).toBe(401);
  });
});
