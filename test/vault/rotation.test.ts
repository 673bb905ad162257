import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  operator,
  type Database,
  type Queryable,
} from '../../src/db/database.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { envelopeKeyVersion } from '../../src/vault/envelope.js';
import { rotateMasterKey } from '../../src/vault/rotation.js';
import { Vault } from '../../src/vault/vault.js';
import { describeEachDatabase } from '../support/databases.js';
import { insertCompany } from '../support/builders.js';
import { masterKeys, ringOf } from './rings.js';

const keys = masterKeys('v1', 'v2');
const oldVault = new Vault(ringOf(keys, ['v1']));
const rotatingVault = new Vault(ringOf(keys, ['v1', 'v2']));
const newOnlyVault = new Vault(ringOf(keys, ['v2']));

interface AccountRow {
  id: string;
  companyId: string;
  secretEnvelope: string;
  keyVersion: string;
  rotatedAt: Date | null;
}

function accountBinding(companyId: string, accountId: string): SecretBinding {
  return { purpose: 'integration-account', companyId, accountId };
}

/** A company with both legacy columns and one ACTIVE account, all on v1. */
async function sealedCompany(db: Database, vault: Vault = oldVault) {
  const companyId = `co_${randomUUID()}`;
  const accountId = `acc_${randomUUID()}`;
  await insertCompany(db, {
    id: companyId,
    eInvoiceProvider: 'EPOSLOVANJE',
    eInvoiceApiKeyEncrypted: vault.seal('legacy-key', {
      purpose: 'legacy-einvoice-key',
      companyId,
    }),
    fiscalCertificateEncrypted: vault.seal(Buffer.from([0x30, 0x82, 1, 2]), {
      purpose: 'legacy-fiscal-certificate',
      companyId,
    }),
  });
  await insertAccount(db, companyId, accountId, vault);
  return { companyId, accountId };
}

async function insertAccount(
  db: Database,
  companyId: string,
  accountId: string,
  vault: Vault,
): Promise<void> {
  const envelope = vault.seal(
    `api-key-${accountId}`,
    accountBinding(companyId, accountId),
  );
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "IntegrationAccount"
         (id, "companyId", kind, environment, status, "secretEnvelope",
          "keyVersion", "rotatedAt")
       VALUES ($1, $2, 'EINVOICE_EPOSLOVANJE', 'TEST', 'ACTIVE', $3, $4,
               '2024-01-02T03:04:05Z')`,
      [accountId, companyId, envelope, envelopeKeyVersion(envelope)],
    ),
  );
}

async function account(db: Database, id: string): Promise<AccountRow> {
  const [row] = await db.transaction(operator, (tx) =>
    tx.query<AccountRow>(
      `SELECT id, "companyId", "secretEnvelope", "keyVersion", "rotatedAt"
         FROM "IntegrationAccount" WHERE id = $1`,
      [id],
    ),
  );
  return row as AccountRow;
}

async function legacyColumns(db: Database, companyId: string) {
  const [row] = await db.transaction(operator, (tx) =>
    tx.query<{ apiKey: string; certificate: string }>(
      `SELECT "eInvoiceApiKeyEncrypted" AS "apiKey",
              "fiscalCertificateEncrypted" AS certificate
         FROM "Company" WHERE id = $1`,
      [companyId],
    ),
  );
  return row as { apiKey: string; certificate: string };
}

function apiKeyOf(vault: Vault, envelope: string, binding: SecretBinding) {
  const headers: Record<string, string> = {};
  vault.apiKeyAuthoriser(envelope, binding).authorise(headers);
  return headers.authorization;
}

/**
 * The database, but `between` runs once right after rotation first
 * reads IntegrationAccount rows and before it writes them.
 */
function interleaved(
  db: Database,
  between: (tx: Queryable) => Promise<void>,
): Database {
  let fired = false;
  const spy = (tx: Queryable): Queryable => ({
    exec: (sql) => tx.exec(sql),
    query: async <T>(sql: string, params?: readonly unknown[]) => {
      const rows = await tx.query<T>(sql, params);
      const isRead = /^\s*SELECT[\s\S]*FROM "IntegrationAccount"/.test(sql);
      if (isRead && !fired && rows.length > 0) {
        fired = true;
        await between(tx);
      }
      return rows;
    },
  });
  return {
    kind: db.kind,
    transaction: (scope, fn) => db.transaction(scope, (tx) => fn(spy(tx))),
    batch: (scope, statements) => db.batch(scope, statements),
    withOwnerSession: (fn) => db.withOwnerSession(fn),
    close: () => db.close(),
  };
}

describeEachDatabase('master key rotation', ({ db }) => {
  it('re-wraps accounts and legacy columns in batches to the active version', async () => {
    const companies = [];
    for (let i = 0; i < 5; i++) companies.push(await sealedCompany(db()));
    const before = await account(db(), companies[0]!.accountId);

    const report = await rotateMasterKey(db(), rotatingVault, {
      batchSize: 2,
    });

    expect(report).toMatchObject({
      activeKeyVersion: 'v2',
      failed: [],
      remaining: 0,
      changedConcurrently: 0,
    });
    expect(report.rewrapped).toBeGreaterThanOrEqual(15);
    expect(report.scanned).toBe(report.rewrapped + report.alreadyCurrent);
    for (const { companyId, accountId } of companies) {
      const row = await account(db(), accountId);
      expect(row.keyVersion).toBe('v2');
      expect(envelopeKeyVersion(row.secretEnvelope)).toBe('v2');
      const legacy = await legacyColumns(db(), companyId);
      expect(envelopeKeyVersion(legacy.apiKey)).toBe('v2');
      expect(envelopeKeyVersion(legacy.certificate)).toBe('v2');
    }
    const after = await account(db(), companies[0]!.accountId);
    expect(after.rotatedAt).toEqual(before.rotatedAt);
  });

  it('leaves every secret openable by a ring without the old key', async () => {
    const { companyId, accountId } = await sealedCompany(db());

    await rotateMasterKey(db(), rotatingVault);

    const row = await account(db(), accountId);
    const binding = accountBinding(companyId, accountId);
    expect(newOnlyVault.canOpen(row.secretEnvelope, binding)).toBe(true);
    expect(apiKeyOf(newOnlyVault, row.secretEnvelope, binding)).toBe(
      `api-key-${accountId}`,
    );
    const legacy = await legacyColumns(db(), companyId);
    expect(
      newOnlyVault.canOpen(legacy.apiKey, {
        purpose: 'legacy-einvoice-key',
        companyId,
      }),
    ).toBe(true);
    expect(
      newOnlyVault.canOpen(legacy.certificate, {
        purpose: 'legacy-fiscal-certificate',
        companyId,
      }),
    ).toBe(true);
  });

  it('keeps reads working with both versions while it runs', async () => {
    const { companyId, accountId } = await sealedCompany(db());
    const binding = accountBinding(companyId, accountId);
    const old = (await account(db(), accountId)).secretEnvelope;

    await rotateMasterKey(db(), rotatingVault);

    const rotated = (await account(db(), accountId)).secretEnvelope;
    expect(rotatingVault.canOpen(old, binding)).toBe(true);
    expect(rotatingVault.canOpen(rotated, binding)).toBe(true);
  });

  it('does nothing on a second run', async () => {
    await sealedCompany(db());
    await rotateMasterKey(db(), rotatingVault);

    const again = await rotateMasterKey(db(), rotatingVault);

    expect(again.rewrapped).toBe(0);
    expect(again.remaining).toBe(0);
    expect(again.alreadyCurrent).toBe(again.scanned);
  });
});

describeEachDatabase('master key rotation meets a secret rotation', (ctx) => {
  it('never overwrites a secret changed between read and write', async () => {
    const { companyId, accountId } = await sealedCompany(ctx.db());
    const binding = accountBinding(companyId, accountId);
    // An instance still on v1 rotates the account's secret meanwhile.
    const newSecret = oldVault.seal('api-key-rotated', binding);
    const rotateSecret = async (tx: Queryable) => {
      const sql = `UPDATE "IntegrationAccount"
                      SET "secretEnvelope" = $1, "rotatedAt" = now()
                    WHERE id = $2`;
      // PGlite has one connection: its "concurrent" writer shares the
      // transaction. PostgreSQL gets a real second transaction.
      if (ctx.backend === 'pglite') {
        await tx.query(sql, [newSecret, accountId]);
        return;
      }
      await ctx
        .db()
        .transaction(operator, (other) =>
          other.query(sql, [newSecret, accountId]),
        );
    };

    const report = await rotateMasterKey(
      interleaved(ctx.db(), rotateSecret),
      rotatingVault,
    );

    expect(report.changedConcurrently).toBe(1);
    expect(report.remaining).toBe(1);
    const row = await account(ctx.db(), accountId);
    expect(row.secretEnvelope).toBe(newSecret);
    expect(apiKeyOf(rotatingVault, row.secretEnvelope, binding)).toBe(
      'api-key-rotated',
    );

    const rerun = await rotateMasterKey(ctx.db(), rotatingVault);

    expect(rerun).toMatchObject({ rewrapped: 1, remaining: 0, failed: [] });
    const rotated = await account(ctx.db(), accountId);
    expect(apiKeyOf(newOnlyVault, rotated.secretEnvelope, binding)).toBe(
      'api-key-rotated',
    );
  });
});

describeEachDatabase('master key rotation with damaged secrets', (ctx) => {
  it('reports a secret that does not open and rotates the rest', async () => {
    const good = await sealedCompany(ctx.db());
    const bad = await sealedCompany(ctx.db());
    // A ciphertext copied from another company's account.
    const copied = (await account(ctx.db(), good.accountId)).secretEnvelope;
    await ctx
      .db()
      .transaction(operator, (tx) =>
        tx.query(
          `UPDATE "IntegrationAccount" SET "secretEnvelope" = $1 WHERE id = $2`,
          [copied, bad.accountId],
        ),
      );

    const report = await rotateMasterKey(ctx.db(), rotatingVault);

    expect(report.failed).toEqual([
      {
        table: 'IntegrationAccount',
        id: bad.accountId,
        column: 'secretEnvelope',
        code: 'VAULT_SECRET_UNREADABLE',
      },
    ]);
    expect(report.remaining).toBe(1);
    expect(report.rewrapped).toBe(5);
    expect((await account(ctx.db(), bad.accountId)).secretEnvelope).toBe(
      copied,
    );
  });

  it('reports secrets sealed with a version the ring lacks', async () => {
    const stranger = new Vault(ringOf(masterKeys('v0'), ['v0']));
    const { accountId } = await sealedCompany(ctx.db(), stranger);

    const report = await rotateMasterKey(ctx.db(), rotatingVault);

    expect(report.failed).toContainEqual({
      table: 'IntegrationAccount',
      id: accountId,
      column: 'secretEnvelope',
      code: 'VAULT_KEY_MISSING',
    });
  });
});
