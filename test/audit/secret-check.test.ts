import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { accountBinding } from '../../src/accounts/account-service.js';
import {
  runSecretCheck,
  secretDigest,
  vaultSecretMemory,
  type SecretMemory,
} from '../../src/audit/secret-check.js';
import { operator, type Database } from '../../src/db/database.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { insertCompany } from '../support/builders.js';
import { insertAccount, resetAuditTables } from '../support/audit-builders.js';
import { describeEachDatabase } from '../support/databases.js';

const key = () => randomBytes(32).toString('base64');

/** The vault's memory, counting how many envelopes it really opens. */
function counting(vault: Vault): { memory: SecretMemory; opened: string[] } {
  const inner = vaultSecretMemory(vault);
  const opened: string[] = [];
  return {
    opened,
    memory: {
      keyChecks: () => inner.keyChecks(),
      verify: (account) => {
        opened.push(account.id);
        return inner.verify(account);
      },
    },
  };
}

/** Refuses to be asked: with a memory the probe is never used. */
function noProbe(): boolean {
  throw new Error('the probe is not used when a memory is given');
}

describeEachDatabase('secret check with recorded verifications', ({ db }) => {
  const v1 = key();
  let vault: Vault;
  let accounts: { id: string; companyId: string }[];

  /** ACTIVE accounts with envelopes the vault sealed for them. */
  async function sealedAccounts(database: Database, n: number) {
    const out: { id: string; companyId: string }[] = [];
    for (let i = 0; i < n; i++) {
      const company = await insertCompany(database);
      const id = `acct_${randomUUID()}`;
      const envelope = vault.seal(`key-${i}`, accountBinding(company.id, id));
      await insertAccount(database, {
        id,
        companyId: company.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        secretEnvelope: envelope,
      });
      out.push({ id, companyId: company.id });
    }
    return out;
  }

  async function check(v: Vault) {
    const { memory, opened } = counting(v);
    const result = await runSecretCheck(db(), noProbe, {
      memory,
      batchSize: 2,
    });
    return { result, opened };
  }

  beforeEach(async () => {
    await resetAuditTables(db());
    vault = new Vault(parseKeyList(`v1:${v1}`));
    accounts = await sealedAccounts(db(), 3);
  });

  it('opens every secret once, then none that did not change', async () => {
    const first = await check(vault);
    const second = await check(vault);

    expect(first.result).toMatchObject({ status: 'READY', count: 0 });
    expect(first.opened.sort()).toEqual(accounts.map((a) => a.id).sort());
    expect(second.result).toMatchObject({ status: 'READY', count: 0 });
    expect(second.opened).toEqual([]);
  });

  it('records the digest of the envelope it saw open', async () => {
    await check(vault);

    const rows = await db().transaction(operator, (tx) =>
      tx.query<{
        id: string;
        companyId: string;
        secretEnvelope: string;
        secretVerifiedDigest: string;
        secretVerifiedAt: Date | null;
      }>(
        `SELECT id, "companyId", "secretEnvelope", "secretVerifiedDigest",
           "secretVerifiedAt" FROM "IntegrationAccount"`,
      ),
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.secretVerifiedDigest).toBe(secretDigest(row));
      expect(row.secretVerifiedAt).not.toBeNull();
    }
  });

  it('opens again an envelope that changed, and reports one that no longer opens', async () => {
    await check(vault);
    const [rotated, tampered] = accounts as [
      { id: string; companyId: string },
      { id: string; companyId: string },
    ];
    const fresh = vault.seal(
      'key-new',
      accountBinding(rotated.companyId, rotated.id),
    );
    const foreign = vault.seal(
      'key-x',
      accountBinding(rotated.companyId, rotated.id),
    );
    await db().transaction(operator, async (tx) => {
      await tx.query(
        'UPDATE "IntegrationAccount" SET "secretEnvelope" = $2 WHERE id = $1',
        [rotated.id, fresh],
      );
      // Another account's envelope: authentic, but bound to another row.
      await tx.query(
        'UPDATE "IntegrationAccount" SET "secretEnvelope" = $2 WHERE id = $1',
        [tampered.id, foreign],
      );
    });

    const { result, opened } = await check(vault);

    expect(opened.sort()).toEqual([rotated.id, tampered.id].sort());
    expect(result).toMatchObject({
      status: 'NOT_READY',
      count: 1,
      samples: [tampered.id],
    });
  });

  it('opens again an account moved to another company, which fails', async () => {
    await check(vault);
    const moved = accounts[0] as { id: string; companyId: string };
    const other = await insertCompany(db());
    await db().transaction(operator, (tx) =>
      tx.query(
        'UPDATE "IntegrationAccount" SET "companyId" = $2 WHERE id = $1',
        [moved.id, other.id],
      ),
    );

    const { result, opened } = await check(vault);

    expect(opened).toEqual([moved.id]);
    expect(result).toMatchObject({ count: 1, samples: [moved.id] });
  });

  it('opens everything again when the key that opened it is gone', async () => {
    await check(vault);
    const withoutV1 = new Vault(parseKeyList(`v2:${key()}`));

    const { result, opened } = await check(withoutV1);

    expect(opened).toHaveLength(3);
    expect(result).toMatchObject({ status: 'NOT_READY', count: 3 });
  });

  it('tells a different key under the same version name apart', async () => {
    await check(vault);
    const impostor = new Vault(parseKeyList(`v1:${key()}`));

    const { result, opened } = await check(impostor);

    expect(opened).toHaveLength(3);
    expect(result).toMatchObject({ status: 'NOT_READY', count: 3 });
  });

  it('still skips the recorded envelopes after a new key version is added', async () => {
    await check(vault);
    const rotated = new Vault(parseKeyList(`v1:${v1},v2:${key()}`));

    const { result, opened } = await check(rotated);

    expect(opened).toEqual([]);
    expect(result).toMatchObject({ status: 'READY', count: 0 });
  });

  it('without a memory opens everything and records nothing', async () => {
    let probed = 0;
    await runSecretCheck(db(), () => {
      probed++;
      return true;
    });
    const recorded = await db().transaction(operator, (tx) =>
      tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "IntegrationAccount"
         WHERE "secretVerifiedDigest" IS NOT NULL`,
      ),
    );

    expect(probed).toBe(3);
    expect(recorded[0]?.n).toBe(0);
  });
});

describe('key check values', () => {
  it('differ between keys and never contain the key', () => {
    const raw = randomBytes(32);
    const a = new Vault(parseKeyList(`v1:${raw.toString('base64')}`));
    const b = new Vault(parseKeyList(`v1:${key()}`));

    expect(a.keyChecks()).toHaveLength(1);
    expect(a.keyChecks()).not.toEqual(b.keyChecks());
    expect(a.keyChecks()[0]).not.toContain(raw.toString('hex').slice(0, 16));
  });
});
