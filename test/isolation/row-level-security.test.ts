import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  APP_ROLE,
  operator,
  owner,
  tenant,
  type Scope,
} from '../../src/db/database.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyColumn,
  eInvoiceInsert,
  fiscalRequestInsert,
  operationEventInsert,
  seedTenant,
  sqlError,
  syncStateInsert,
  TENANT_TABLES,
} from './tenant-rows.js';

// DESIGN.md, "Tenant isolation by construction", layer 3: in a tenant
// transaction the app role sees and writes one company's rows only.

const INSUFFICIENT_PRIVILEGE = '42501';
const RLS_VIOLATION = /row-level security/;

describeEachDatabase('row-level security', ({ db }) => {
  /** Company ids of `table` rows visible in `scope`, among `ids`. */
  async function visible(
    scope: Scope,
    table: (typeof TENANT_TABLES)[number],
    ids: string[],
  ): Promise<string[]> {
    const column = companyColumn(table);
    const rows = await db().transaction(scope, (tx) =>
      tx.query<{ companyId: string }>(
        `SELECT ${column} AS "companyId" FROM "${table}"
          WHERE ${column} = ANY($1::text[])`,
        [ids],
      ),
    );
    return [...new Set(rows.map((r) => r.companyId))].sort();
  }

  describe('reading', () => {
    for (const table of TENANT_TABLES) {
      it(`shows company A only its own ${table} rows, never company B's`, async () => {
        const a = await seedTenant(db());
        const b = await seedTenant(db());

        const seen = await visible(tenant(a.companyId), table, [
          a.companyId,
          b.companyId,
        ]);

        expect(seen).toEqual([a.companyId]);
      });

      it(`shows no ${table} rows at all when no tenant is set`, async () => {
        const a = await seedTenant(db());

        const seen = await visible(tenant(''), table, [a.companyId]);
        const all = await db().transaction(tenant(''), (tx) =>
          tx.query(`SELECT 1 FROM "${table}" LIMIT 1`),
        );

        expect(seen).toEqual([]);
        expect(all).toEqual([]);
      });
    }

    it("hides company B's account even when company A asks for it by id", async () => {
      const a = await seedTenant(db());
      const b = await seedTenant(db());

      const rows = await db().transaction(tenant(a.companyId), (tx) =>
        tx.query('SELECT id FROM "IntegrationAccount" WHERE id = $1', [
          b.accountId,
        ]),
      );

      expect(rows).toEqual([]);
    });
  });

  describe('writing', () => {
    const inserts: [string, (b: string, ref: string) => [string, unknown[]]][] =
      [
        [
          'IntegrationAccount',
          (b) => [
            `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
               environment, "secretEnvelope")
             VALUES ($1, $2, 'EINVOICE_FINA', 'TEST', 'sealed:test')`,
            [`ia_${randomUUID()}`, b],
          ],
        ],
        [
          'EInvoice',
          (b) => [eInvoiceInsert, [`ei_${randomUUID()}`, b, '0', null]],
        ],
        [
          'FiscalRequest',
          (b) => [fiscalRequestInsert, [`fr_${randomUUID()}`, b, null]],
        ],
        [
          'ProviderSyncState',
          (b, ref) => [syncStateInsert, [`ps_${randomUUID()}`, b, ref]],
        ],
        ['OperationEvent', (b) => [operationEventInsert, [b, null]]],
      ];

    for (const [table, build] of inserts) {
      it(`refuses a ${table} row for company B inserted as company A`, async () => {
        const a = await seedTenant(db());
        const b = await seedTenant(db());
        const [sql, params] = build(b.companyId, b.spareAccountId);

        const error = await sqlError(() =>
          db().transaction(tenant(a.companyId), (tx) => tx.query(sql, params)),
        );

        expect(error.code).toBe(INSUFFICIENT_PRIVILEGE);
        expect(error.message).toMatch(RLS_VIOLATION);
      });
    }

    it('refuses inserting a company from a tenant transaction', async () => {
      const a = await seedTenant(db());

      const error = await sqlError(() =>
        db().transaction(tenant(a.companyId), (tx) =>
          tx.query(
            `INSERT INTO "Company" (id, name, oib)
             VALUES ($1, 'Other d.o.o.', '00000000001')`,
            [`co_${randomUUID()}`],
          ),
        ),
      );

      expect(error.code).toBe(INSUFFICIENT_PRIVILEGE);
    });

    it("changes none of company B's rows from company A's transaction", async () => {
      const a = await seedTenant(db());
      const b = await seedTenant(db());

      const changed = await db().transaction(tenant(a.companyId), (tx) =>
        tx.query(
          `UPDATE "EInvoice" SET status = 'ERROR' WHERE id = $1 RETURNING id`,
          [b.eInvoiceId],
        ),
      );
      const status = await db().transaction(operator, (tx) =>
        tx.query<{ status: string }>(
          'SELECT status FROM "EInvoice" WHERE id = $1',
          [b.eInvoiceId],
        ),
      );

      expect(changed).toEqual([]);
      expect(status).toEqual([{ status: 'SENT' }]);
    });

    it("refuses moving company A's row to company B", async () => {
      const a = await seedTenant(db());
      const b = await seedTenant(db());

      const error = await sqlError(() =>
        db().transaction(tenant(a.companyId), (tx) =>
          tx.query(
            `UPDATE "FiscalRequest" SET "companyId" = $2,
               "integrationAccountId" = NULL WHERE id = $1`,
            [a.fiscalRequestId, b.companyId],
          ),
        ),
      );

      expect(error.message).toMatch(RLS_VIOLATION);
    });
  });

  describe('the role tenant transactions run as', () => {
    it('is tenantgate_app', async () => {
      const rows = await db().transaction(tenant('co_any'), (tx) =>
        tx.query<{ role: string }>('SELECT current_user AS role'),
      );

      expect(rows).toEqual([{ role: APP_ROLE }]);
    });

    it('is neither superuser nor allowed to bypass row-level security', async () => {
      const rows = await db().transaction(owner, (tx) =>
        tx.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
          'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
          [APP_ROLE],
        ),
      );

      expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
    });

    it('owns none of the tenant tables', async () => {
      const rows = await db().transaction(owner, (tx) =>
        tx.query<{ tablename: string; tableowner: string }>(
          `SELECT tablename, tableowner FROM pg_tables
            WHERE schemaname = 'public' AND tablename = ANY($1::text[])`,
          [[...TENANT_TABLES]],
        ),
      );

      expect(rows.map((r) => r.tablename).sort()).toEqual(
        [...TENANT_TABLES].sort(),
      );
      for (const row of rows) expect(row.tableowner).not.toBe(APP_ROLE);
    });

    it('has row-level security enabled on every tenant table', async () => {
      const rows = await db().transaction(owner, (tx) =>
        tx.query<{ relname: string; relrowsecurity: boolean }>(
          `SELECT relname, relrowsecurity FROM pg_class
            WHERE relnamespace = 'public'::regnamespace
              AND relname = ANY($1::text[])`,
          [[...TENANT_TABLES]],
        ),
      );

      expect(rows).toHaveLength(TENANT_TABLES.length);
      for (const row of rows) expect(row.relrowsecurity).toBe(true);
    });
  });

  describe('the operation event ledger is append-only', () => {
    const SCOPES: [string, (companyId: string) => Scope][] = [
      ['the tenant', (companyId) => tenant(companyId)],
      ['the operator', () => operator],
      ['the owner', () => owner],
    ];

    for (const [who, scopeFor] of SCOPES) {
      it(`refuses UPDATE by ${who}`, async () => {
        const a = await seedTenant(db());

        const error = await sqlError(() =>
          db().transaction(scopeFor(a.companyId), (tx) =>
            tx.query(
              `UPDATE "OperationEvent" SET outcome = 'FAILURE'
                WHERE "companyId" = $1`,
              [a.companyId],
            ),
          ),
        );

        expect(error.code).toBe(INSUFFICIENT_PRIVILEGE);
      });

      it(`refuses DELETE by ${who}`, async () => {
        const a = await seedTenant(db());

        const error = await sqlError(() =>
          db().transaction(scopeFor(a.companyId), (tx) =>
            tx.query('DELETE FROM "OperationEvent" WHERE "companyId" = $1', [
              a.companyId,
            ]),
          ),
        );

        expect(error.code).toBe(INSUFFICIENT_PRIVILEGE);
      });
    }

    it('keeps the event after every refused change', async () => {
      const a = await seedTenant(db());
      await sqlError(() =>
        db().transaction(owner, (tx) =>
          tx.query('DELETE FROM "OperationEvent" WHERE "companyId" = $1', [
            a.companyId,
          ]),
        ),
      );

      const rows = await db().transaction(operator, (tx) =>
        tx.query<{ outcome: string }>(
          'SELECT outcome FROM "OperationEvent" WHERE "companyId" = $1',
          [a.companyId],
        ),
      );

      expect(rows).toEqual([{ outcome: 'SUCCESS' }]);
    });
  });
});
