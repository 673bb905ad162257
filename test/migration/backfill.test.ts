import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { CompanyService } from '../../src/companies/company-service.js';
import { operator, type Database } from '../../src/db/database.js';
import { backfill } from '../../src/migration/backfill.js';
import { provision } from '../../src/migration/provision.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  accountsOf,
  apiKey,
  freshVault,
  insertInvoices,
  invoiceRows,
  legacyCertificate,
  legacyCompany,
  silentLogger,
} from './helpers.js';

const vault = freshVault();

function depsOf(db: Database) {
  return { db, vault, logger: silentLogger };
}

async function provisioned(db: Database, provider = 'eposlovanje') {
  const company = await legacyCompany(db, vault, { provider });
  await provision(depsOf(db), { apply: true, accountEnvironment: 'TEST' });
  const [account] = await accountsOf(db, company.id);
  return { companyId: company.id, accountId: account?.id as string };
}

async function accountOf(db: Database, table: string, id: string) {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ a: string | null }>(
      `SELECT "integrationAccountId" AS a FROM "${table}" WHERE id = $1`,
      [id],
    ),
  );
  return rows[0]?.a;
}

describeEachDatabase('backfill: which rows are linked', ({ db }) => {
  const run = (apply: boolean) =>
    backfill(depsOf(db()), { apply, accountEnvironment: 'TEST' });

  it('links served invoices of the legacy kind to the account provisioned from the legacy key', async () => {
    const { companyId, accountId } = await provisioned(db());
    const [plain] = await insertInvoices(db(), companyId);
    const [typed] = await insertInvoices(db(), companyId, {
      status: 'DELIVERED',
      providerKind: 'EINVOICE_EPOSLOVANJE',
    });
    const [lost] = await insertInvoices(db(), companyId, {
      status: 'SEND_UNKNOWN',
    });

    await run(true);

    for (const id of [plain, typed, lost]) {
      expect(await accountOf(db(), 'EInvoice', id as string)).toBe(accountId);
    }
  });

  it('changes nothing in a dry run and reports what it would link', async () => {
    const { companyId } = await provisioned(db());
    const ids = await insertInvoices(db(), companyId, { count: 3 });

    const report = await run(false);

    expect(report.mode).toBe('dry-run');
    expect(report.tables.EInvoice.linked).toBeGreaterThanOrEqual(3);
    for (const id of ids) {
      expect(await accountOf(db(), 'EInvoice', id)).toBeNull();
    }
  });

  it('rewrites no business field and no timestamp of an issued invoice', async () => {
    const { companyId, accountId } = await provisioned(db());
    const ids = await insertInvoices(db(), companyId, { count: 2 });
    const before = await invoiceRows(db(), ids);

    await run(true);

    const after = await invoiceRows(db(), ids);
    for (const id of ids) {
      expect(after.get(id)).toEqual({
        ...before.get(id),
        integrationAccountId: accountId,
      });
    }
  });

  it('leaves drafts and documents still in flight alone', async () => {
    const { companyId } = await provisioned(db());
    const [draft] = await insertInvoices(db(), companyId, {
      status: 'DRAFT',
    });
    const [sending] = await insertInvoices(db(), companyId, {
      status: 'SENDING',
    });

    await run(true);

    expect(await accountOf(db(), 'EInvoice', draft as string)).toBeNull();
    expect(await accountOf(db(), 'EInvoice', sending as string)).toBeNull();
  });

  it('lists an invoice of another intermediary than the provisioned one as ambiguous', async () => {
    const { companyId } = await provisioned(db());
    const [fina] = await insertInvoices(db(), companyId, {
      providerKind: 'EINVOICE_FINA',
    });

    const report = await run(true);

    expect(await accountOf(db(), 'EInvoice', fina as string)).toBeNull();
    expect(report.ambiguousRows).toContainEqual({
      table: 'EInvoice',
      id: fina,
      companyId,
      reason: 'no-provisioned-account',
    });
  });

  it('does not link to an account made by hand with another key', async () => {
    const company = await legacyCompany(db(), vault);
    await db().transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, "secretEnvelope")
         VALUES ($1, $2, 'EINVOICE_EPOSLOVANJE', 'TEST', 'sealed:other')`,
        [`ia_${randomUUID()}`, company.id],
      ),
    );
    const [invoice] = await insertInvoices(db(), company.id);

    const report = await run(true);

    expect(await accountOf(db(), 'EInvoice', invoice as string)).toBeNull();
    expect(report.ambiguousRows).toContainEqual(
      expect.objectContaining({
        id: invoice,
        reason: 'no-provisioned-account',
      }),
    );
  });

  it('does not link when the legacy key changed after provisioning', async () => {
    const { companyId } = await provisioned(db());
    const companies = new CompanyService({
      db: db(),
      vault,
      logger: silentLogger,
    });
    await companies.setLegacyEInvoiceKey(companyId, 'eposlovanje', apiKey());
    const [invoice] = await insertInvoices(db(), companyId);

    const report = await run(true);

    expect(await accountOf(db(), 'EInvoice', invoice as string)).toBeNull();
    expect(report.ambiguousRows).toContainEqual(
      expect.objectContaining({ id: invoice, reason: 'credential-differs' }),
    );
  });

  it('lists an invoice whose kind nothing tells as ambiguous', async () => {
    const company = await legacyCompany(db(), vault, {
      provider: null,
      key: null,
    });
    const [invoice] = await insertInvoices(db(), company.id);

    const report = await run(true);

    expect(report.ambiguousRows).toContainEqual(
      expect.objectContaining({ id: invoice, reason: 'kind-unknown' }),
    );
  });

  it('reports counts whose parts add up to what it scanned, unserved rows included', async () => {
    const { companyId } = await provisioned(db());
    await insertInvoices(db(), companyId, { count: 2 });
    await insertInvoices(db(), companyId, { status: 'DRAFT' });
    await insertInvoices(db(), companyId, { providerKind: 'EINVOICE_FINA' });

    for (const apply of [false, true]) {
      const report = await run(apply);

      const e = report.tables.EInvoice;
      expect(e.notServed).toBeGreaterThanOrEqual(1);
      expect(e.ambiguous).toBeGreaterThanOrEqual(1);
      expect(e.linked).toBeGreaterThanOrEqual(2);
      for (const t of Object.values(report.tables)) {
        expect(
          t.linked + t.skippedConcurrently + t.notServed + t.ambiguous,
        ).toBe(t.scanned);
      }
    }
  });

  it('never replaces an account a row already has', async () => {
    const { companyId } = await provisioned(db());
    const other = `ia_${randomUUID()}`;
    await db().transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, "secretEnvelope")
         VALUES ($1, $2, 'EINVOICE_EPOSLOVANJE', 'PROD', 'sealed:x')`,
        [other, companyId],
      ),
    );
    const [linked] = await insertInvoices(db(), companyId, {
      accountId: other,
    });

    await run(true);

    expect(await accountOf(db(), 'EInvoice', linked as string)).toBe(other);
  });

  it('links a fiscal request only through the CIS account provisioned from its certificate', async () => {
    const company = await legacyCompany(db(), vault, {
      provider: null,
      key: null,
    });
    const certId = await legacyCertificate(db(), company.id, {
      certSerial: 'abc123',
    });
    const accountId = `ia_${randomUUID()}`;
    await db().transaction(operator, async (tx) => {
      await tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, "secretEnvelope", "certSerial")
         VALUES ($1, $2, 'FISCALIZATION_CIS', 'TEST', 'sealed:p12',
           'abc123')`,
        [accountId, company.id],
      );
      await tx.query(
        `INSERT INTO "AccountProvenance" ("integrationAccountId",
           "companyId", kind, environment, source, "sourceId", "runId")
         VALUES ($1, $2, 'FISCALIZATION_CIS', 'TEST',
           'legacy-fiscal-certificate', $3, 'test')`,
        [accountId, company.id, certId],
      );
      for (const [id, status, cert] of [
        ['fr_ok_', 'SUCCESS', certId],
        ['fr_nocert_', 'SUCCESS', null],
        ['fr_queued_', 'QUEUED', certId],
      ] as const) {
        await tx.query(
          `INSERT INTO "FiscalRequest" (id, "companyId", status,
             "certificateId") VALUES ($1, $2, $3, $4)`,
          [id + company.id, company.id, status, cert],
        );
      }
    });

    const report = await run(true);

    const fr = (p: string) => accountOf(db(), 'FiscalRequest', p + company.id);
    expect(await fr('fr_ok_')).toBe(accountId);
    expect(await fr('fr_nocert_')).toBeNull();
    expect(await fr('fr_queued_')).toBeNull();
    expect(report.ambiguousRows).toContainEqual(
      expect.objectContaining({
        id: 'fr_nocert_' + company.id,
        reason: 'certificate-unknown',
      }),
    );
  });
});

describeEachDatabase('backfill: resuming after a kill', ({ db }) => {
  it('keeps the batches committed before the kill, rolls back the killed one, and resumes after it', async () => {
    const { companyId, accountId } = await provisioned(db());
    const ids = await insertInvoices(db(), companyId, { count: 10 });

    const killed = backfill(depsOf(db()), {
      apply: true,
      accountEnvironment: 'TEST',
      batchSize: 3,
      inBatch: (table, batch) => {
        if (table === 'EInvoice' && batch === 2) throw new Error('killed');
      },
    });
    await expect(killed).rejects.toThrow('killed');

    const linkedAfterKill = await Promise.all(
      ids.map((id) => accountOf(db(), 'EInvoice', id)),
    );
    expect(linkedAfterKill.filter((a) => a === accountId)).toHaveLength(3);

    const resumed = await backfill(depsOf(db()), {
      apply: true,
      accountEnvironment: 'TEST',
      batchSize: 3,
    });

    expect(resumed.tables.EInvoice.resumedAfter).toBe(ids[2]);
    expect(resumed.tables.EInvoice.linked).toBe(7);
    for (const id of ids) {
      expect(await accountOf(db(), 'EInvoice', id)).toBe(accountId);
    }
  });
});

describeEachDatabase('backfill: live traffic', ({ db }) => {
  it('links every certain row while other transactions insert and update invoices', async () => {
    const { companyId, accountId } = await provisioned(db());
    const ids = await insertInvoices(db(), companyId, { count: 2000 });
    const touched = new Set<string>();
    let running = true;

    const writer = (async () => {
      let writes = 0;
      while (running || writes < 20) {
        const id = ids[(writes * 97) % ids.length] as string;
        touched.add(id);
        await db().transaction(operator, (tx) =>
          tx.query(
            `UPDATE "EInvoice" SET status = 'DELIVERED', "updatedAt" = now()
             WHERE id = $1`,
            [id],
          ),
        );
        await insertInvoices(db(), companyId, { count: 5 });
        writes++;
      }
      return writes;
    })();
    const report = await backfill(depsOf(db()), {
      apply: true,
      accountEnvironment: 'TEST',
      batchSize: 100,
    }).finally(() => {
      running = false;
    });
    const writes = await writer;
    const second = await backfill(depsOf(db()), {
      apply: true,
      accountEnvironment: 'TEST',
    });

    expect(writes).toBeGreaterThanOrEqual(20);
    expect(report.longestBatchMs).toBeLessThan(1000);
    const unlinked = await db().transaction(operator, (tx) =>
      tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "EInvoice"
         WHERE "companyId" = $1 AND "integrationAccountId" IS DISTINCT FROM $2`,
        [companyId, accountId],
      ),
    );
    expect(unlinked[0]?.n).toBe(0);
    expect(second.tables.EInvoice.ambiguous).toBe(0);
    const rows = await invoiceRows(db(), ids);
    for (const [id, row] of rows) {
      if (touched.has(id)) continue;
      expect((row.updatedAt as Date).toISOString()).toBe(
        '2025-06-02T10:00:00.000Z',
      );
    }
  });
});

describeEachDatabase('backfill: planner statistics', ({ db }) => {
  /** The share of unlinked invoices: as the planner knows it, and true. */
  async function unlinkedShare() {
    return db().withOwnerSession(async (s) => {
      const [stats] = await s.query<{ share: number }>(
        `SELECT null_frac AS share FROM pg_stats
         WHERE schemaname = current_schema() AND tablename = 'EInvoice'
           AND attname = 'integrationAccountId'`,
      );
      const [rows] = await s.query<{ share: number }>(
        `SELECT avg(("integrationAccountId" IS NULL)::int)::float8 AS share
         FROM "EInvoice"`,
      );
      return { planner: Number(stats?.share), actual: Number(rows?.share) };
    });
  }

  async function invoicesAnalyzedUnlinked(): Promise<void> {
    const { companyId } = await provisioned(db());
    await insertInvoices(db(), companyId, { count: 20 });
    await db().withOwnerSession((s) => s.exec('ANALYZE "EInvoice"'));
  }

  it('refreshes them where it linked rows, so that the audit run next is planned on the links', async () => {
    await invoicesAnalyzedUnlinked();
    const before = await unlinkedShare();

    const report = await backfill(depsOf(db()), {
      apply: true,
      accountEnvironment: 'TEST',
    });

    const after = await unlinkedShare();
    expect(report.analyzed).toEqual(['EInvoice']);
    expect(after.actual).toBeLessThan(before.actual);
    expect(after.planner).toBeCloseTo(after.actual, 5);
  });

  it('leaves them alone in a dry run', async () => {
    await invoicesAnalyzedUnlinked();
    const before = await unlinkedShare();

    const report = await backfill(depsOf(db()), {
      accountEnvironment: 'TEST',
    });

    expect(report.analyzed).toEqual([]);
    expect(await unlinkedShare()).toEqual(before);
  });
});
