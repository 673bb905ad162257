import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountBinding } from '../../src/accounts/account-service.js';
import { runAudit } from '../../src/audit/audit.js';
import type { AuditReport } from '../../src/audit/report.js';
import { vaultSecretMemory } from '../../src/audit/secret-check.js';
import { operator, type Database } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { adopt } from '../../src/migration/adopt.js';
import { backfill } from '../../src/migration/backfill.js';
import { suspendUnbackedEntitlements } from '../../src/migration/entitlements.js';
import { harden } from '../../src/migration/harden.js';
import { generateLegacyPlatform } from '../../src/migration/legacy-demo.js';
import { provision } from '../../src/migration/provision.js';
import { unlinkWrongLinks } from '../../src/migration/unlink.js';
import { emptyDatabase, freshVault, silentLogger } from './helpers.js';

const COMPANIES = 200;

function statuses(report: AuditReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

for (const backend of ['pglite', 'postgres'] as const) {
  const skip = backend === 'postgres' && !process.env.TEST_DATABASE_URL;
  (skip ? describe.skip : describe)(
    `the documented migration of a generated legacy platform [${backend}]`,
    () => {
      const vault = freshVault();
      let db: Database;
      let drop: () => Promise<void>;
      const deps = () => ({ db, vault, logger: silentLogger });
      const env = { accountEnvironment: 'TEST' as const };
      const audit = () =>
        runAudit(db, {
          ...env,
          secretProbe: (a) =>
            vault.canOpen(a.secretEnvelope, accountBinding(a.companyId, a.id)),
          secretMemory: vaultSecretMemory(vault),
        });

      beforeAll(async () => {
        ({ db, drop } = await emptyDatabase(backend, 'procedure'));
        await generateLegacyPlatform(deps(), {
          companies: COMPANIES,
          invoicesPerCompany: 6,
          fiscalRequestsPerCompany: 3,
          batchSize: 80,
        });
        await adopt({ db, logger: silentLogger });
        if (db instanceof PgliteDatabase) await db.dropPrivileges();
      });
      afterAll(async () => drop());

      it('reaches every audit check READY: provision, entitlements suspend, unlink, backfill', async () => {
        const before = await audit();
        expect(before.ready).toBe(false);
        expect(statuses(before)).toMatchObject({
          'einvoice.issued_without_account': 'NOT_READY',
          'fiscal.success_without_account': 'NOT_READY',
          'company.fiscalization_without_cis_account': 'NOT_READY',
          'company.einvoicing_without_einvoice_account': 'NOT_READY',
          'row.account_company_mismatch': 'NOT_READY',
          'row.account_wrong_kind': 'NOT_READY',
          'account.active_without_secret': 'NOT_READY',
        });

        // 1. Provision: every usable credential becomes an ACTIVE
        // account; expired and revoked certificates inactive ones.
        const provisioned = await provision(deps(), { ...env, apply: true });
        const perProfile = COMPANIES / 10;
        expect(provisioned.counts).toMatchObject({
          // keys: profiles 0-5 and 9, of which 4 every 50th is repaired
          // certificates: profiles 4, 5 and 6, likewise
          created: 7 * perProfile + 3 * perProfile - 2 * (COMPANIES / 50),
          repaired: 2 * (COMPANIES / 50),
          'created-inactive': 2 * perProfile,
          'not-provisioned': perProfile,
        });
        expect(provisioned.notProvisionedByReason).toEqual({
          'legacy-key-unreadable': perProfile,
        });
        expect(provisioned.inactiveByReason).toEqual({
          'legacy-certificate-expired': perProfile,
          'legacy-certificate-revoked': perProfile,
        });
        const inactive = await db.transaction(operator, (tx) =>
          tx.query<{ status: string; n: number; sealed: number }>(
            `SELECT status, count(*)::int AS n,
               count("secretEnvelope")::int AS sealed
             FROM "IntegrationAccount" WHERE status <> 'ACTIVE'
             GROUP BY status ORDER BY status`,
          ),
        );
        expect(inactive).toEqual([
          { status: 'DISABLED', n: perProfile, sealed: perProfile },
          { status: 'EXPIRED', n: perProfile, sealed: perProfile },
        ]);
        // What nothing can provision, as the report says: profile 7 has
        // no credential, 8 an unreadable key and an expired
        // certificate, 9 a revoked certificate.
        expect(provisioned.entitlementsWithoutAccount).toEqual({
          byEntitlement: {
            fiscalization: 3 * perProfile,
            einvoicing: 2 * perProfile,
          },
          byReason: {
            'no-legacy-credential': 2 * perProfile,
            'legacy-credential-not-provisioned': perProfile,
            'account-not-active': 2 * perProfile,
          },
        });

        // 2. The operator switches off what no account backs: listed
        // by a dry run first, which changes nothing.
        const listed = await suspendUnbackedEntitlements(deps(), env);
        expect(listed.suspended).toBe(5 * perProfile);
        expect(listed.entitlements).toContainEqual({
          companyId: 'lc_0000007',
          entitlement: 'fiscalization',
          reason: 'no-legacy-credential',
        });
        const suspended = await suspendUnbackedEntitlements(deps(), {
          ...env,
          apply: true,
        });
        expect(suspended.suspended).toBe(5 * perProfile);
        expect(suspended.entitlements).toEqual(listed.entitlements);

        // 3. The prior system's wrong links are removed, with evidence.
        const unlinked = await unlinkWrongLinks(deps(), { apply: true });
        expect(unlinked.byReason).toEqual({
          'account-of-another-company': COMPANIES / 200,
          'account-wrong-kind': COMPANIES / 200,
        });

        // 4. The backfill links every served row; nothing is ambiguous.
        const filled = await backfill(deps(), { ...env, apply: true });
        expect(filled.ambiguousRows).toEqual([]);
        expect(filled.tables.FiscalRequest.linked).toBeGreaterThan(0);

        const after = await audit();
        expect(after.checks.filter((c) => c.status !== 'READY')).toEqual([]);
        expect(after.ready).toBe(true);

        // History signed by expired and revoked certificates is linked
        // to their inactive accounts.
        const linkedToInactive = await db.transaction(operator, (tx) =>
          tx.query<{ status: string; n: number }>(
            `SELECT a.status, count(*)::int AS n FROM "FiscalRequest" f
             JOIN "IntegrationAccount" a ON a.id = f."integrationAccountId"
             WHERE a.status <> 'ACTIVE' GROUP BY a.status ORDER BY 1`,
          ),
        );
        expect(linkedToInactive.map((r) => r.status)).toEqual([
          'DISABLED',
          'EXPIRED',
        ]);

        // And hardening validates every constraint.
        const hardened = await harden(
          { db, logger: silentLogger },
          { ...env, enforcementOn: true },
        );
        expect(
          hardened.constraints.filter((c) => c.status !== 'enforced'),
        ).toEqual([]);
      });
    },
  );
}
