import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountBinding } from '../../src/accounts/account-service.js';
import { runAudit } from '../../src/audit/audit.js';
import { operator, type Database } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { adopt, type AdoptReport } from '../../src/migration/adopt.js';
import { backfill } from '../../src/migration/backfill.js';
import { generateLegacyPlatform } from '../../src/migration/legacy-demo.js';
import { provision } from '../../src/migration/provision.js';
import { emptyDatabase, freshVault, silentLogger } from './helpers.js';

const backends = ['pglite', 'postgres'] as const;

for (const backend of backends) {
  const skip = backend === 'postgres' && !process.env.TEST_DATABASE_URL;
  (skip ? describe.skip : describe)(
    `adopting a legacy platform [${backend}]`,
    () => {
      const vault = freshVault();
      const deps = () => ({ db, vault, logger: silentLogger });
      let db: Database;
      let drop: () => Promise<void>;
      let report: AdoptReport;

      beforeAll(async () => {
        ({ db, drop } = await emptyDatabase(backend, 'legacy'));
        await generateLegacyPlatform(deps(), {
          companies: 220,
          invoicesPerCompany: 6,
          fiscalRequestsPerCompany: 3,
          batchSize: 100,
        });
        report = await adopt({ db, logger: silentLogger });
        if (db instanceof PgliteDatabase) await db.dropPrivileges();
      });
      afterAll(async () => drop());

      it('changes no existing row', () => {
        expect(report.outcome).toBe('adopted');
        expect(report.rowsUnchanged).toBe(true);
        const invoices = report.rows.find((r) => r.table === 'EInvoice');
        expect(invoices?.before.count).toBe(220 * 6 - 22 * 6);
      });

      it('adds the missing columns and tables', () => {
        expect(report.columnsAdded).toContainEqual({
          table: 'EInvoice',
          column: 'providerKind',
        });
        expect(report.tablesCreated).toContain('OperationEvent');
        expect(report.tablesCreated).toContain('AccountProvenance');
      });

      it('creates the composite keys and checks NOT VALID, so inconsistent rows stay visible', async () => {
        const states = Object.fromEntries(
          report.constraints.map((c) => [c.name, c.state]),
        );
        expect(states).toMatchObject({
          EInvoice_account_same_company: 'added-not-valid',
          IntegrationAccount_active_has_secret: 'added-not-valid',
          IntegrationAccount_company_id_key: 'added',
        });
        const invariants = await audit();
        const byId = Object.fromEntries(
          invariants.checks.map((c) => [c.id, c.count]),
        );
        expect(byId['row.account_company_mismatch']).toBe(2);
        expect(byId['row.account_wrong_kind']).toBe(2);
        expect(byId['account.active_without_secret']).toBe(10);
      });

      it('refuses a new cross-company link at once', async () => {
        await expect(
          db.transaction(operator, (tx) =>
            tx.query(`UPDATE "EInvoice" SET "integrationAccountId" = 'lia_4'
              WHERE id = 'le_0000011_0001'`),
          ),
        ).rejects.toThrow(/EInvoice_account_same_company/);
      });

      it('refuses to build a legacy platform over an existing one', async () => {
        await expect(
          generateLegacyPlatform(deps(), { companies: 1 }),
        ).rejects.toThrow(/needs an empty database/);
        if (db instanceof PgliteDatabase) await db.dropPrivileges();
      });

      it('is a no-op the second time', async () => {
        const again = await adopt({ db, logger: silentLogger });
        if (db instanceof PgliteDatabase) await db.dropPrivileges();
        expect(again.outcome).toBe('already');
      });

      it('lets provisioning and backfill link the legacy history', async () => {
        const before = await audit();
        await provision(deps(), { apply: true, accountEnvironment: 'TEST' });
        const filled = await backfill(deps(), {
          apply: true,
          accountEnvironment: 'TEST',
        });
        const after = await audit();

        const count = (r: typeof before, id: string) =>
          r.checks.find((c) => c.id === id)?.count ?? -1;
        expect(filled.tables.EInvoice.linked).toBeGreaterThan(0);
        expect(count(after, 'einvoice.issued_without_account')).toBeLessThan(
          count(before, 'einvoice.issued_without_account'),
        );
        expect(filled.longestBatchMs).toBeLessThan(1000);
      });

      function audit() {
        return runAudit(db, {
          accountEnvironment: 'TEST',
          secretProbe: (a) =>
            vault.canOpen(a.secretEnvelope, accountBinding(a.companyId, a.id)),
        });
      }
    },
  );
}
