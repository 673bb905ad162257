import { describe, expect, it } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import { operator, owner } from '../../src/db/database.js';
import {
  accountHoldsKey,
  provision,
  type ProvisionReport,
} from '../../src/migration/provision.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  accountsOf,
  apiKey,
  freshVault,
  legacyCertificate,
  legacyCompany,
  silentLogger,
} from './helpers.js';

const vault = freshVault();

function itemsOf(report: ProvisionReport, companyId: string) {
  return report.items.filter((i) => i.companyId === companyId);
}

describeEachDatabase('provisioning from legacy credentials', ({ db }) => {
  const deps = () => ({ db: db(), vault, logger: silentLogger });
  const run = (apply: boolean) =>
    provision(deps(), { apply, accountEnvironment: 'TEST' });

  describe('legacy e-invoice keys', () => {
    it('plans an account per legacy key and writes nothing by default', async () => {
      const company = await legacyCompany(db(), vault, { provider: 'fina' });

      const report = await run(false);

      expect(report.mode).toBe('dry-run');
      expect(itemsOf(report, company.id)).toEqual([
        expect.objectContaining({
          kind: 'EINVOICE_FINA',
          environment: 'TEST',
          action: 'create',
          reason: null,
        }),
      ]);
      expect(await accountsOf(db(), company.id)).toEqual([]);
    });

    it('creates an ACTIVE account of the provider kind holding the same key, with provenance', async () => {
      const company = await legacyCompany(db(), vault, {
        provider: 'eposlovanje',
      });

      const report = await run(true);

      const [item] = itemsOf(report, company.id);
      expect(item?.action).toBe('created');
      const [account] = await accountsOf(db(), company.id);
      expect(account).toMatchObject({
        id: item?.integrationAccountId,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        status: 'ACTIVE',
        source: 'legacy-einvoice-key',
      });
      const held = accountHoldsKey(
        vault,
        company.id,
        account as { id: string; secretEnvelope: string },
        company.key as string,
      );
      expect(held).toBe(true);
    });

    it('is idempotent: a second run finds the account already provisioned', async () => {
      const company = await legacyCompany(db(), vault);
      await run(true);

      const again = await run(true);

      expect(itemsOf(again, company.id)).toEqual([
        expect.objectContaining({ action: 'already-provisioned' }),
      ]);
      expect(await accountsOf(db(), company.id)).toHaveLength(1);
    });

    it('reports a key that does not open and creates no account', async () => {
      const other = freshVault();
      const id = 'co_unreadable_' + apiKey('x');
      const company = await legacyCompany(db(), vault, {
        envelope: other.seal(apiKey(), {
          purpose: 'legacy-einvoice-key',
          companyId: id,
        }),
      });

      const report = await run(true);

      expect(itemsOf(report, company.id)).toEqual([
        expect.objectContaining({
          action: 'not-provisioned',
          reason: 'legacy-key-unreadable',
        }),
      ]);
      expect(await accountsOf(db(), company.id)).toEqual([]);
    });

    it('reports a key sealed for another company as unreadable', async () => {
      const donor = await legacyCompany(db(), vault);
      const envelope = await db().transaction(operator, async (tx) => {
        const rows = await tx.query<{ e: string }>(
          `SELECT "eInvoiceApiKeyEncrypted" AS e FROM "Company"
           WHERE id = $1`,
          [donor.id],
        );
        return rows[0]?.e as string;
      });
      const thief = await legacyCompany(db(), vault, { envelope });

      const report = await run(false);

      expect(itemsOf(report, thief.id)[0]?.reason).toBe(
        'legacy-key-unreadable',
      );
    });

    it('reports an unknown provider and a provider without a key', async () => {
      const unknown = await legacyCompany(db(), vault, { provider: 'mock' });
      const keyless = await legacyCompany(db(), vault, { key: null });

      const report = await run(true);

      expect(itemsOf(report, unknown.id)[0]?.reason).toBe(
        'legacy-provider-unknown',
      );
      expect(itemsOf(report, keyless.id)[0]?.reason).toBe(
        'legacy-provider-without-key',
      );
      expect(await accountsOf(db(), unknown.id)).toEqual([]);
      expect(await accountsOf(db(), keyless.id)).toEqual([]);
    });

    it('leaves an existing account with another key alone and reports it', async () => {
      const company = await legacyCompany(db(), vault);
      const accounts = new AccountService({
        db: db(),
        vault,
        logger: silentLogger,
      });
      const manual = await accounts.create({
        companyId: company.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        secret: apiKey('other'),
      });

      const report = await run(true);

      expect(itemsOf(report, company.id)).toEqual([
        expect.objectContaining({
          action: 'not-provisioned',
          reason: 'account-exists-other-credential',
          integrationAccountId: manual.id,
        }),
      ]);
      const [account] = await accountsOf(db(), company.id);
      expect(account?.source).toBeNull();
    });

    it('adopts an existing account that holds the very same key', async () => {
      const company = await legacyCompany(db(), vault);
      const accounts = new AccountService({
        db: db(),
        vault,
        logger: silentLogger,
      });
      const manual = await accounts.create({
        companyId: company.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        secret: company.key as string,
      });

      const dry = await run(false);
      const applied = await run(true);

      expect(itemsOf(dry, company.id)[0]?.action).toBe('adopt-existing');
      expect(itemsOf(applied, company.id)[0]?.action).toBe('adopted-existing');
      const [account] = await accountsOf(db(), company.id);
      expect(account).toMatchObject({
        id: manual.id,
        source: 'legacy-einvoice-key',
      });
    });
  });

  describe('legacy certificates', () => {
    it('reports expired, revoked and pending certificates, and rows without a file', async () => {
      const company = await legacyCompany(db(), vault, {
        provider: null,
        key: null,
      });
      await legacyCertificate(db(), company.id, {
        environment: 'TEST',
        certNotAfter: new Date('2020-01-01T00:00:00Z'),
      });
      await legacyCertificate(db(), company.id, { environment: 'PROD' });
      const revoked = await legacyCompany(db(), vault, {
        provider: null,
        key: null,
      });
      await legacyCertificate(db(), revoked.id, { status: 'REVOKED' });

      const report = await run(true);

      expect(
        itemsOf(report, company.id).map((i) => [i.environment, i.reason]),
      ).toEqual([
        ['PROD', 'legacy-certificate-without-file'],
        ['TEST', 'legacy-certificate-expired'],
      ]);
      expect(itemsOf(report, revoked.id)[0]?.reason).toBe(
        'legacy-certificate-revoked',
      );
      expect(await accountsOf(db(), company.id)).toEqual([]);
    });
  });

  describe('resuming', () => {
    it('continues after the last finished batch when a run stops early', async () => {
      const first = await legacyCompany(db(), vault);
      const second = await legacyCompany(db(), vault);

      const stopped = await provision(deps(), {
        apply: true,
        accountEnvironment: 'TEST',
        batchSize: 1,
        maxBatches: 1,
      });
      const resumed = await provision(deps(), {
        apply: true,
        accountEnvironment: 'TEST',
        batchSize: 50,
      });

      expect(stopped.companiesScanned).toBe(1);
      expect(resumed.resumedAfter).toBe(stopped.items[0]?.companyId);
      expect(await accountsOf(db(), first.id)).toHaveLength(1);
      expect(await accountsOf(db(), second.id)).toHaveLength(1);
      const after = await provision(deps(), {
        apply: false,
        accountEnvironment: 'TEST',
      });
      expect(after.resumedAfter).toBeNull();
    });
  });
});

describeEachDatabase('provisioning repairs the prior system', ({ db }) => {
  it('gives an ACTIVE account without a secret the legacy key it lacked', async () => {
    const company = await legacyCompany(db(), vault);
    const accountId = `ia_repair_${company.id}`;
    await db().transaction(owner, async (tx) => {
      await tx.query(`ALTER TABLE "IntegrationAccount"
        DROP CONSTRAINT "IntegrationAccount_active_has_secret"`);
      await tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, status)
         VALUES ($1, $2, 'EINVOICE_EPOSLOVANJE', 'TEST', 'ACTIVE')`,
        [accountId, company.id],
      );
      await tx.query(`ALTER TABLE "IntegrationAccount"
        ADD CONSTRAINT "IntegrationAccount_active_has_secret"
        CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL)
        NOT VALID`);
    });
    const deps = { db: db(), vault, logger: silentLogger };

    const dry = await provision(deps, { accountEnvironment: 'TEST' });
    const applied = await provision(deps, {
      apply: true,
      accountEnvironment: 'TEST',
    });

    expect(dry.items.find((i) => i.companyId === company.id)?.action).toBe(
      'repair',
    );
    expect(applied.items.find((i) => i.companyId === company.id)?.action).toBe(
      'repaired',
    );
    const [account] = await accountsOf(db(), company.id);
    expect(account?.source).toBe('legacy-einvoice-key');
    expect(
      accountHoldsKey(
        vault,
        company.id,
        account as { id: string; secretEnvelope: string },
        company.key as string,
      ),
    ).toBe(true);
  });
});
