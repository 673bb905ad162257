import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { ReportingClient } from '../../src/reporting/client.js';
import type { ReportSender } from '../../src/reporting/reporting-service.js';
import {
  startFiskalizacija2Simulator,
  type Fiskalizacija2Simulator,
} from '../../src/sandbox/fiskalizacija2-simulator.js';
import { describeEachDatabase } from '../support/databases.js';
import { CapturedLogs } from '../support/platform.js';
import { CERTS_DIR, P12, certFile } from '../fiscal/support.js';
import {
  insertEInvoice,
  reportingPlatform,
  reportsOf,
  sampleUbl,
  type ReportingPlatform,
} from './reporting-support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);
const SAMPLE = 'eRacun_PDV25.xml';
/** The samples' buyer, and the same with a wrong control digit (S007). */
const BUYER = '11111111119';
const BAD_BUYER = '11111111118';

interface Event {
  operation: string;
  outcome: string;
  errorCode: string | null;
  documentId: string | null;
}

describeEachDatabase('reporting to the Tax Administration', (ctx) => {
  const logs = new CapturedLogs();
  let p: ReportingPlatform;
  let sim: Fiskalizacija2Simulator;
  let client: ReportingClient;
  let companyId = '';
  let certless = '';

  /** An issued outgoing e-invoice of the company, with its own number. */
  async function issued(options: { buyer?: string } = {}) {
    const number = `R-${randomUUID().slice(0, 8)}`;
    const ubl = sampleUbl(SAMPLE, P12.a.oib)
      .replace('<cbc:ID>1-P1-1</cbc:ID>', `<cbc:ID>${number}</cbc:ID>`)
      .replaceAll(BUYER, options.buyer ?? BUYER);
    return insertEInvoice(p.db, {
      companyId,
      number,
      issueDate: '2026-12-01',
      sellerOib: P12.a.oib,
      buyerOib: options.buyer ?? BUYER,
      ublXml: ubl,
    });
  }

  async function events(since: number): Promise<Event[]> {
    const rows = await p.db.transaction(operator, (tx) =>
      tx.query<Event & { id: number }>(
        `SELECT id, operation, outcome, "errorCode", "documentId"
           FROM "OperationEvent" WHERE "companyId" = $1 AND id > $2
          ORDER BY id`,
        [companyId, since],
      ),
    );
    return rows;
  }

  async function lastEventId(): Promise<number> {
    const [row] = await p.db.transaction(operator, (tx) =>
      tx.query<{ id: number | null }>(
        'SELECT max(id)::int AS id FROM "OperationEvent"',
      ),
    );
    return row?.id ?? 0;
  }

  beforeAll(async () => {
    p = reportingPlatform(ctx.db(), createLogger('debug', logs.stream));
    sim = await startFiskalizacija2Simulator();
    client = new ReportingClient({
      url: sim.url,
      ca: CA,
      retry: { attempts: 2, baseDelayMs: 5 },
    });
    const company = await p.companies.create({
      name: 'Alpha d.o.o.',
      oib: P12.a.oib,
      eInvoicingEnabled: true,
      fiscalizationEnabled: true,
      eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
    });
    companyId = company.id;
    await p.accounts.createCertificateAccount({
      companyId,
      environment: 'TEST',
      p12: certFile(P12.a.file),
      password: P12.a.password,
    });
    const other = await p.companies.create({
      name: 'No certificate d.o.o.',
      oib: '24715430428',
      eInvoicingEnabled: true,
      eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
    });
    certless = other.id;
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await sim?.close();
  });

  it('reports issued e-invoices in one request, one operation event', async () => {
    const ids = [await issued(), await issued(), await issued()];
    const before = sim.recorded().eRacun;
    const since = await lastEventId();

    const summary = await p
      .reporting(client)
      .reportDue(companyId, { origin: 'user', actor: 'test' });

    expect(summary).toMatchObject({ reported: 3, requests: 1, failures: [] });
    expect(sim.recorded().eRacun - before).toBe(3);
    const rows = (await reportsOf(p.db, companyId)).filter((r) =>
      ids.includes(r.einvoiceId),
    );
    expect(rows.map((r) => r.status)).toEqual([
      'REPORTED',
      'REPORTED',
      'REPORTED',
    ]);
    expect(rows.every((r) => r.reportedAt instanceof Date)).toBe(true);
    expect(await events(since)).toEqual([
      expect.objectContaining({
        operation: 'EINVOICE_REPORT',
        outcome: 'SUCCESS',
        errorCode: null,
      }),
    ]);
  }, 30_000);

  it('treats S008 on a repeat after a crash as already reported', async () => {
    const einvoiceId = await issued();
    // The first sender gets its request to the service, then dies before
    // it can record the reply: its promise never settles.
    const crashing: ReportSender = {
      evidentirajERacun: async (records, signer, options) => {
        await client.evidentirajERacun(records, signer, options);
        return new Promise(() => undefined);
      },
      evidentirajNaplatu: (r, s, o) => client.evidentirajNaplatu(r, s, o),
      evidentirajOdbijanje: (r, s, o) => client.evidentirajOdbijanje(r, s, o),
    };
    const recorded = sim.recorded().eRacun;
    void p
      .reporting(crashing)
      .reportDue(companyId, { origin: 'worker' })
      .catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (sim.recorded().eRacun === recorded && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const [stuck] = (await reportsOf(p.db, companyId)).filter(
      (r) => r.einvoiceId === einvoiceId,
    );
    expect(stuck?.status).toBe('PROCESSING');
    expect(sim.recorded().eRacun).toBe(recorded + 1);

    // Its lease (60 s) ends; the next run claims it and sends it again.
    await p.db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "EInvoiceReport" SET "leaseUntil" = now() - interval '1 s'
          WHERE "einvoiceId" = $1`,
        [einvoiceId],
      ),
    );
    const summary = await p
      .reporting(client)
      .reportDue(companyId, { origin: 'worker' });

    expect(summary).toMatchObject({ reported: 1, alreadyRecorded: 1 });
    expect(sim.received.at(-1)).toMatchObject({ code: 'S008' });
    expect(sim.recorded().eRacun).toBe(recorded + 1);
    const [done] = (await reportsOf(p.db, companyId)).filter(
      (r) => r.einvoiceId === einvoiceId,
    );
    expect(done).toMatchObject({ status: 'REPORTED', alreadyRecorded: true });
  }, 30_000);

  it('names the bad record of a batch and reports the others', async () => {
    const good1 = await issued();
    const bad = await issued({ buyer: BAD_BUYER });
    const good2 = await issued();
    const since = await lastEventId();

    const service = p.reporting(client);
    const summary = await service.reportDue(companyId, { origin: 'user' });

    expect(summary.reported).toBe(2);
    expect(summary.failures).toEqual([
      expect.objectContaining({
        einvoiceId: bad,
        code: 'S007',
        recordNumber: 2,
        status: 'DEAD',
      }),
    ]);
    const rows = await reportsOf(p.db, companyId);
    const statusOf = (id: string) =>
      rows.find((r) => r.einvoiceId === id)?.status;
    expect([statusOf(good1), statusOf(bad), statusOf(good2)]).toEqual([
      'REPORTED',
      'DEAD',
      'REPORTED',
    ]);
    expect(rows.find((r) => r.einvoiceId === bad)?.lastError).toMatchObject({
      code: 'REPORT_REJECTED',
      reportCode: 'S007',
      recordNumber: 2,
    });
    const [event] = await events(since);
    expect(event).toMatchObject({
      outcome: 'FAILURE',
      errorCode: 'REPORT_REJECTED',
    });
    const list = await service.dueList({ companyId });
    expect(
      list.companies[0]?.items.find((i) => i.einvoiceId === bad),
    ).toMatchObject({ status: 'DEAD', lastError: 'S007 (record 2)' });
  }, 30_000);

  it('reports a payment after its e-invoice, by the 20th', async () => {
    const einvoiceId = await issued();
    const service = p.reporting(client);
    const paid = await service.registerPayment({
      companyId,
      einvoiceId,
      paidOn: '2026-12-01',
      amount: '125.00',
      method: 'T',
    });
    const before = sim.recorded().naplata;

    const summary = await service.reportDue(companyId, { origin: 'user' });

    expect(paid.deadline).toBe('2027-01-20');
    expect(summary.failures).toEqual([]);
    expect(sim.recorded().naplata - before).toBe(1);
    const rows = await reportsOf(p.db, companyId);
    expect(rows.filter((r) => r.einvoiceId === einvoiceId)).toEqual([
      expect.objectContaining({ kind: 'EINVOICE', status: 'REPORTED' }),
      expect.objectContaining({ kind: 'PAYMENT', status: 'REPORTED' }),
    ]);
  }, 30_000);

  it('retries a report the service could not take, once it is back', async () => {
    const einvoiceId = await issued();
    sim.inject({ kind: 'http-503' }, { kind: 'http-503' });
    const service = p.reporting(client);

    const first = await service.reportDue(companyId, { origin: 'worker' });
    const failed = (await reportsOf(p.db, companyId)).find(
      (r) => r.einvoiceId === einvoiceId,
    );
    const second = await service.reportDue(companyId, { origin: 'worker' });

    expect(first.failures).toEqual([
      expect.objectContaining({ code: 'COUNTERPART_UNAVAILABLE' }),
    ]);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(second.reported).toBe(1);
  }, 30_000);

  it('sends nothing for e-invoices the intermediary reports', async () => {
    const account = await p.accounts.create({
      companyId,
      kind: 'EINVOICE_EPOSLOVANJE',
      environment: 'TEST',
      secret: 'alpha-eposlovanje-key',
      providerConfig: { taxReporting: 'INTERMEDIARY' },
    });
    const number = `R-${randomUUID().slice(0, 8)}`;
    await insertEInvoice(p.db, {
      companyId,
      number,
      integrationAccountId: account.id,
      sellerOib: P12.a.oib,
      ublXml: sampleUbl(SAMPLE, P12.a.oib),
    });
    const sent = sim.received.length;

    const summary = await p
      .reporting(client)
      .reportDue(companyId, { origin: 'user' });

    expect(summary).toMatchObject({ requests: 0, reported: 0 });
    expect(sim.received.length).toBe(sent);
  }, 30_000);

  it('keeps a report owed when the gate finds no certificate', async () => {
    await insertEInvoice(p.db, { companyId: certless, number: 'N-1' });
    const summary = await p
      .reporting(client)
      .reportDue(certless, { origin: 'user' });

    expect(summary.failures).toHaveLength(1);
    const [row] = await reportsOf(p.db, certless);
    expect(row?.status).toBe('PENDING');
    expect(row?.lastError).toMatchObject({ code: summary.failures[0]?.code });
    const [event] = await p.db.transaction(operator, (tx) =>
      tx.query<Event>(
        `SELECT outcome FROM "OperationEvent" WHERE "companyId" = $1`,
        [certless],
      ),
    );
    expect(event?.outcome).toBe('BLOCKED');
  }, 30_000);
});
