import { expect, it } from 'vitest';
import { operator, type Database } from '../../src/db/database.js';
import { suspendUnbackedEntitlements } from '../../src/migration/entitlements.js';
import { provision } from '../../src/migration/provision.js';
import { insertCompany } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  freshVault,
  legacyCertificate,
  legacyCompany,
  silentLogger,
} from './helpers.js';

const vault = freshVault();

async function entitlementsOf(db: Database, companyId: string) {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ fiscalization: boolean; einvoicing: boolean }>(
      `SELECT "fiscalizationEnabled" AS fiscalization,
         "eInvoicingEnabled" AS einvoicing
       FROM "Company" WHERE id = $1`,
      [companyId],
    ),
  );
  return rows[0];
}

describeEachDatabase(
  'switching off entitlements no account backs',
  ({ db }) => {
    const deps = () => ({ db: db(), vault, logger: silentLogger });
    const env = { accountEnvironment: 'TEST' as const };

    it('lists them with why, changes nothing by default, and with apply switches off only those', async () => {
      // Entitled, never any credential.
      const bare = await insertCompany(db(), {
        fiscalizationEnabled: true,
        eInvoicingEnabled: true,
      });
      // A provisioned key: e-invoicing is backed; fiscalization has a
      // certificate row provisioning cannot use (no file).
      const keyed = await legacyCompany(db(), vault, {
        fields: { fiscalizationEnabled: true },
      });
      await legacyCertificate(db(), keyed.id, { encryptedP12: null });
      // A provisioned key whose account was disabled since.
      const disabled = await legacyCompany(db(), vault);
      await provision(deps(), { ...env, apply: true });
      await db().transaction(operator, (tx) =>
        tx.query(
          `UPDATE "IntegrationAccount" SET status = 'DISABLED',
             "statusReason" = 'test'
           WHERE "companyId" = $1`,
          [disabled.id],
        ),
      );

      const dry = await suspendUnbackedEntitlements(deps(), env);

      const mine = (companyId: string) =>
        dry.entitlements.filter((e) => e.companyId === companyId);
      expect(mine(bare.id)).toEqual([
        {
          companyId: bare.id,
          entitlement: 'einvoicing',
          reason: 'no-legacy-credential',
        },
        {
          companyId: bare.id,
          entitlement: 'fiscalization',
          reason: 'no-legacy-credential',
        },
      ]);
      expect(mine(keyed.id)).toEqual([
        {
          companyId: keyed.id,
          entitlement: 'fiscalization',
          reason: 'legacy-credential-not-provisioned',
        },
      ]);
      expect(mine(disabled.id)).toEqual([
        {
          companyId: disabled.id,
          entitlement: 'einvoicing',
          reason: 'account-not-active',
        },
      ]);
      expect(dry.mode).toBe('dry-run');
      expect(await entitlementsOf(db(), bare.id)).toEqual({
        fiscalization: true,
        einvoicing: true,
      });

      const applied = await suspendUnbackedEntitlements(deps(), {
        ...env,
        apply: true,
        batchSize: 1,
      });

      expect(applied.suspended).toBe(dry.suspended);
      expect(applied.changedMeanwhile).toBe(0);
      expect(await entitlementsOf(db(), bare.id)).toEqual({
        fiscalization: false,
        einvoicing: false,
      });
      expect(await entitlementsOf(db(), keyed.id)).toEqual({
        fiscalization: false,
        einvoicing: true,
      });
      expect(await entitlementsOf(db(), disabled.id)).toEqual({
        fiscalization: false,
        einvoicing: false,
      });
      const again = await suspendUnbackedEntitlements(deps(), env);
      expect(again.entitlements).toEqual([]);
    });
  },
);
