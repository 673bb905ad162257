import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { accountBinding } from '../../src/accounts/account-service.js';
import { secretDigest } from '../../src/audit/secret-check.js';
import { operator, owner, type Database } from '../../src/db/database.js';
import { openPkcs12, packPkcs12 } from '../../src/fiscal/pkcs12.js';
import { backfill } from '../../src/migration/backfill.js';
import {
  provision,
  type ProvisionReport,
} from '../../src/migration/provision.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { freshVault, legacyCertificate, silentLogger } from './helpers.js';

const vault = freshVault();
const CERTS = new URL('../../fixtures/cis/certs/', import.meta.url);
const TENANT_A_OIB = '12345678903';

/** A fixture PKCS#12 packed with its password, as the vault seals it. */
function packed(name: string, password: string): Buffer {
  return packPkcs12(readFileSync(new URL(name, CERTS)), password);
}

/** The fixture's serial in hex, as the prior system's rows hold it. */
function hexSerial(name: string, password: string): string {
  const { info } = openPkcs12(readFileSync(new URL(name, CERTS)), password);
  return BigInt(info.serialDecimal).toString(16);
}

const TENANT_A_SERIAL = hexSerial('tenant-a.p12', 'demo-pass-A');
const TENANT_A = () => packed('tenant-a.p12', 'demo-pass-A');
const TENANT_B = () => packed('tenant-b-legacy.p12', 'demo-pass-B');
const EXPIRED_C = () => packed('tenant-c-expired.p12', 'demo-pass-C');

const legacyBinding = (companyId: string) => ({
  purpose: 'legacy-fiscal-certificate' as const,
  companyId,
});

/**
 * A prior-system company with fiscalization on and `oib` (taken from
 * whichever company of an earlier test holds it), and its certificate
 * row holding `p12` sealed for the company.
 */
async function companyWithCertificate(
  db: Database,
  p12: Buffer | null,
  options: { oib?: string; sealFor?: string; fields?: object } = {},
): Promise<{ companyId: string; certId: string }> {
  const companyId = `co_${randomUUID()}`;
  const oib = options.oib ?? TENANT_A_OIB;
  await db.transaction(operator, async (tx) => {
    await tx.query('UPDATE "Company" SET oib = $2 WHERE oib = $1', [
      oib,
      randomOib(),
    ]);
    await tx.query(
      `INSERT INTO "Company" (id, name, oib, "fiscalizationEnabled")
       VALUES ($1, 'Fiskal d.o.o.', $2, true)`,
      [companyId, oib],
    );
  });
  const envelope =
    p12 === null
      ? null
      : vault.seal(p12, legacyBinding(options.sealFor ?? companyId));
  const certId = await legacyCertificate(db, companyId, {
    encryptedP12: envelope,
    certSerial: null,
    ...options.fields,
  });
  return { companyId, certId };
}

interface CisAccount {
  id: string;
  status: string;
  environment: string;
  secretEnvelope: string;
  certSubject: string;
  certSerial: string;
  certNotAfter: Date;
  certOib: string;
  secretVerifiedDigest: string | null;
  source: string | null;
  sourceId: string | null;
}

async function cisAccountsOf(db: Database, companyId: string) {
  return db.transaction(operator, (tx) =>
    tx.query<CisAccount>(
      `SELECT a.id, a.status, a.environment, a."secretEnvelope",
         a."certSubject", a."certSerial", a."certNotAfter", a."certOib",
         a."secretVerifiedDigest", p.source, p."sourceId"
       FROM "IntegrationAccount" a
       LEFT JOIN "AccountProvenance" p ON p."integrationAccountId" = a.id
       WHERE a."companyId" = $1 AND a.kind = 'FISCALIZATION_CIS'`,
      [companyId],
    ),
  );
}

function itemOf(report: ProvisionReport, companyId: string) {
  return report.items.find(
    (i) =>
      i.companyId === companyId && i.source === 'legacy-fiscal-certificate',
  );
}

describeEachDatabase('provisioning legacy CIS certificates', ({ db }) => {
  const deps = () => ({ db: db(), vault, logger: silentLogger });
  const run = (apply: boolean) =>
    provision(deps(), { apply, accountEnvironment: 'TEST' });

  it('creates an ACTIVE CIS account holding the same certificate, re-sealed for it', async () => {
    const { companyId, certId } = await companyWithCertificate(
      db(),
      TENANT_A(),
      { fields: { certSerial: TENANT_A_SERIAL } },
    );

    const dry = await run(false);
    const dryAccounts = await cisAccountsOf(db(), companyId);
    const applied = await run(true);

    expect(itemOf(dry, companyId)?.action).toBe('create');
    expect(dryAccounts).toEqual([]);
    expect(itemOf(applied, companyId)).toMatchObject({
      action: 'created',
      environment: 'TEST',
      sourceId: certId,
    });
    const [account] = await cisAccountsOf(db(), companyId);
    expect(account).toMatchObject({
      status: 'ACTIVE',
      environment: 'TEST',
      certOib: TENANT_A_OIB,
      source: 'legacy-fiscal-certificate',
      sourceId: certId,
    });
    const a = account as CisAccount;
    const signer = vault.signerFor(
      a.secretEnvelope,
      accountBinding(companyId, a.id),
    );
    expect(signer.certificate.oib).toBe(TENANT_A_OIB);
    expect(a.certSerial).toBe(signer.certificate.serialDecimal);
    expect(a.certNotAfter.getTime()).toBe(
      signer.certificate.notAfter.getTime(),
    );
    expect(a.certSubject).toBe(signer.certificate.subject);
    expect(vault.canOpen(a.secretEnvelope, legacyBinding(companyId))).toBe(
      false,
    );
    expect(a.secretVerifiedDigest).toBe(
      secretDigest({ id: a.id, companyId, secretEnvelope: a.secretEnvelope }),
    );
  });

  it('is idempotent: a second run finds the account already provisioned', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_A());
    await run(true);

    const again = await run(true);

    expect(itemOf(again, companyId)?.action).toBe('already-provisioned');
    expect(await cisAccountsOf(db(), companyId)).toHaveLength(1);
  });

  it('refuses a certificate that carries another OIB than the company’s', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_B(), {
      oib: randomOib(),
    });

    const report = await run(true);

    expect(itemOf(report, companyId)).toMatchObject({
      action: 'not-provisioned',
      reason: 'legacy-certificate-oib-mismatch',
    });
    expect(await cisAccountsOf(db(), companyId)).toEqual([]);
  });

  it('makes a certificate whose file says it expired an EXPIRED account holding it, never ACTIVE, whatever the row says', async () => {
    const { companyId, certId } = await companyWithCertificate(
      db(),
      EXPIRED_C(),
      { oib: '24715430428' },
    );

    const dry = await run(false);
    expect(itemOf(dry, companyId)).toMatchObject({
      action: 'create-inactive',
      reason: 'legacy-certificate-expired',
      accountStatus: 'EXPIRED',
    });
    expect(await cisAccountsOf(db(), companyId)).toEqual([]);

    const report = await run(true);

    expect(itemOf(report, companyId)).toMatchObject({
      action: 'created-inactive',
      reason: 'legacy-certificate-expired',
    });
    expect(report.inactiveByReason['legacy-certificate-expired']).toBe(1);
    const [account] = await cisAccountsOf(db(), companyId);
    expect(account).toMatchObject({
      status: 'EXPIRED',
      certOib: '24715430428',
      source: 'legacy-fiscal-certificate',
      sourceId: certId,
    });
    expect(
      vault.canOpen(
        account?.secretEnvelope ?? '',
        accountBinding(companyId, account?.id ?? ''),
      ),
    ).toBe(true);
  });

  it('makes a revoked certificate a DISABLED account holding it', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_A(), {
      fields: { status: 'REVOKED', certSerial: TENANT_A_SERIAL },
    });

    const report = await run(true);

    expect(itemOf(report, companyId)).toMatchObject({
      action: 'created-inactive',
      reason: 'legacy-certificate-revoked',
      accountStatus: 'DISABLED',
    });
    const [account] = await cisAccountsOf(db(), companyId);
    expect(account?.status).toBe('DISABLED');
    expect(account?.secretEnvelope).toBeTruthy();
  });

  it('reports a file sealed for another company as unreadable', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_A(), {
      sealFor: 'co_someone_else',
    });

    const report = await run(true);

    expect(itemOf(report, companyId)?.reason).toBe(
      'legacy-certificate-unreadable',
    );
    expect(await cisAccountsOf(db(), companyId)).toEqual([]);
  });

  it('refuses a row whose serial is not its file’s', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_A(), {
      fields: { certSerial: 'abcdef0123' },
    });

    const report = await run(true);

    expect(itemOf(report, companyId)?.reason).toBe(
      'legacy-certificate-serial-mismatch',
    );
    expect(await cisAccountsOf(db(), companyId)).toEqual([]);
  });

  it('lets the backfill link the fiscal requests signed with that certificate', async () => {
    const { companyId, certId } = await companyWithCertificate(
      db(),
      TENANT_A(),
      { fields: { certSerial: TENANT_A_SERIAL } },
    );
    const requestId = `fr_${companyId}`;
    await db().transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "FiscalRequest" (id, "companyId", status,
           "certificateId") VALUES ($1, $2, 'SUCCESS', $3)`,
        [requestId, companyId, certId],
      ),
    );
    await run(true);

    await backfill(deps(), { apply: true, accountEnvironment: 'TEST' });

    const [account] = await cisAccountsOf(db(), companyId);
    const linked = await db().transaction(operator, (tx) =>
      tx.query<{ integrationAccountId: string | null }>(
        'SELECT "integrationAccountId" FROM "FiscalRequest" WHERE id = $1',
        [requestId],
      ),
    );
    expect(linked[0]?.integrationAccountId).toBe(account?.id);
  });

  it('reports a certificate row without a file', async () => {
    const { companyId } = await companyWithCertificate(db(), null);

    const report = await run(true);

    expect(itemOf(report, companyId)?.reason).toBe(
      'legacy-certificate-without-file',
    );
  });

  it('gives the prior system’s ACTIVE CIS account without a file the certificate', async () => {
    const { companyId } = await companyWithCertificate(db(), TENANT_A());
    const accountId = `lcis_${companyId}`;
    await db().transaction(owner, async (tx) => {
      await tx.query(`ALTER TABLE "IntegrationAccount"
        DROP CONSTRAINT "IntegrationAccount_active_has_secret"`);
      await tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, status)
         VALUES ($1, $2, 'FISCALIZATION_CIS', 'TEST', 'ACTIVE')`,
        [accountId, companyId],
      );
      await tx.query(`ALTER TABLE "IntegrationAccount"
        ADD CONSTRAINT "IntegrationAccount_active_has_secret"
        CHECK (status <> 'ACTIVE' OR "secretEnvelope" IS NOT NULL)
        NOT VALID`);
    });

    const dry = await run(false);
    const applied = await run(true);

    expect(itemOf(dry, companyId)?.action).toBe('repair');
    expect(itemOf(applied, companyId)).toMatchObject({
      action: 'repaired',
      integrationAccountId: accountId,
    });
    const [account] = await cisAccountsOf(db(), companyId);
    expect(account).toMatchObject({
      id: accountId,
      status: 'ACTIVE',
      certOib: TENANT_A_OIB,
    });
    expect(
      vault.signerFor(
        (account as CisAccount).secretEnvelope,
        accountBinding(companyId, accountId),
      ).certificate.oib,
    ).toBe(TENANT_A_OIB);
  });
});
