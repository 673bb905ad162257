import { createHash } from 'node:crypto';
import { accountBinding } from '../accounts/account-service.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { SecretBinding } from '../vault/envelope.js';
import { checkResult, type CheckResult } from './report.js';

/** What the secret probe sees of an account: never the opened secret. */
export interface ProbedAccount {
  id: string;
  companyId: string;
  secretEnvelope: string;
}

/**
 * Answers whether an account's sealed secret opens with the vault's key
 * ring. Supplied by the caller (the vault owns decryption); a probe that
 * throws counts as "does not open".
 */
export type SecretProbe = (
  account: ProbedAccount,
) => boolean | Promise<boolean>;

/**
 * What lets the check skip envelopes it has seen open (the vault's
 * `keyChecks` and `verify`). An envelope opens or not by its bytes,
 * its binding and the master key alone, so one that opened under a key
 * still opens as long as it is unchanged and that very key is in the
 * ring.
 */
export interface SecretMemory {
  /** Key check values of the master keys the vault holds now. */
  keyChecks(): readonly string[];
  /**
   * Opens the account's envelope: the key check value of the master key
   * that opened it, or null when it does not open.
   */
  verify(account: ProbedAccount): string | null;
}

/** The vault's side of a `SecretMemory`: integration account secrets. */
export function vaultSecretMemory(vault: {
  keyChecks(): string[];
  verify(envelope: string, binding: SecretBinding): string | null;
}): SecretMemory {
  return {
    keyChecks: () => vault.keyChecks(),
    verify: (a) =>
      vault.verify(a.secretEnvelope, accountBinding(a.companyId, a.id)),
  };
}

/** ACTIVE accounts read per transaction. */
export const DEFAULT_SECRET_BATCH_SIZE = 500;

export const SECRET_CHECK = {
  id: 'account.active_secret_unreadable',
  title: 'No ACTIVE IntegrationAccounts whose secret does not open',
  kind: 'readiness',
} as const;

/**
 * The digest a verified envelope is recorded with: SHA-256 over the
 * account id, its company id and the envelope, newline-separated. The
 * SQL below computes the same from the row, so a changed envelope or a
 * row moved to another company no longer matches.
 */
function rowDigest(a: string): string {
  return `encode(sha256(convert_to(${a}.id || chr(10) || ${a}."companyId"
    || chr(10) || ${a}."secretEnvelope", 'UTF8')), 'hex')`;
}

/** The same digest, computed in the process. */
export function secretDigest(account: ProbedAccount): string {
  return createHash('sha256')
    .update(`${account.id}\n${account.companyId}\n${account.secretEnvelope}`)
    .digest('hex');
}

/**
 * Probes the secret of every ACTIVE account that has one, in id order,
 * one batch per short transaction so that no transaction stays open
 * while the vault works. Accounts without a secret are the
 * `account.active_without_secret` invariant's business.
 *
 * With `memory`, an account whose envelope was recorded as opening
 * (same digest) under a master key the ring still holds (same key
 * check value) is counted as opening without being opened; every
 * other one is opened, and those that open are recorded
 * (`secretVerifiedDigest`, `secretVerifiedKeyCheck`,
 * `secretVerifiedAt`): the only columns the audit writes.
 */
export async function runSecretCheck(
  db: Database,
  probe: SecretProbe,
  options: { batchSize?: number; memory?: SecretMemory } = {},
): Promise<CheckResult> {
  const batchSize = options.batchSize ?? DEFAULT_SECRET_BATCH_SIZE;
  const memory = options.memory;
  const keyChecks = memory ? [...memory.keyChecks()] : null;
  const unreadable: string[] = [];
  let after = '';

  for (;;) {
    const batch = await readBatch(db, after, batchSize, keyChecks);
    const verified: VerifiedSecret[] = [];
    for (const account of batch) {
      const keyCheck = memory
        ? verifyWith(memory, account)
        : (await opens(probe, account))
          ? ''
          : null;
      if (keyCheck === null) unreadable.push(account.id);
      else if (memory) verified.push({ ...account, keyCheck });
    }
    if (verified.length > 0) {
      await db.transaction(operator, (tx) => recordVerified(tx, verified));
    }
    const last = batch.at(-1);
    if (!last || batch.length < batchSize) break;
    after = last.id;
  }
  return checkResult(SECRET_CHECK, unreadable.length, unreadable);
}

/** An envelope that opened, with the key check value of its key. */
export interface VerifiedSecret extends ProbedAccount {
  keyCheck: string;
}

/**
 * Records that these envelopes opened (provisioning, rotation and the
 * secret check call it). A row whose envelope changed since it was
 * read is left alone.
 */
export async function recordVerified(
  tx: Queryable,
  secrets: readonly VerifiedSecret[],
): Promise<void> {
  if (secrets.length === 0) return;
  await tx.query(
    `UPDATE "IntegrationAccount" a
     SET "secretVerifiedDigest" = ${rowDigest('a')},
       "secretVerifiedKeyCheck" = v.key_check, "secretVerifiedAt" = now()
     FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, envelope,
       key_check)
     WHERE a.id = v.id AND a."secretEnvelope" = v.envelope`,
    [
      secrets.map((s) => s.id),
      secrets.map((s) => s.secretEnvelope),
      secrets.map((s) => s.keyCheck),
    ],
  );
}

/**
 * The next ACTIVE accounts to open: all of them without `keyChecks`;
 * with it, only those not recorded as opening in their present form
 * under a key the ring holds.
 */
async function readBatch(
  db: Database,
  after: string,
  limit: number,
  keyChecks: string[] | null,
): Promise<ProbedAccount[]> {
  const unverified =
    keyChecks === null
      ? ''
      : `AND ("secretVerifiedKeyCheck" IS NULL
           OR NOT "secretVerifiedKeyCheck" = ANY($3::text[])
           OR "secretVerifiedDigest" IS DISTINCT FROM ${rowDigest('a')})`;
  return db.transaction(operator, (tx) =>
    tx.query<ProbedAccount>(
      `SELECT id, "companyId", "secretEnvelope" FROM "IntegrationAccount" a
       WHERE status = 'ACTIVE' AND "secretEnvelope" <> '' AND id > $1
         ${unverified}
       ORDER BY id LIMIT $2`,
      keyChecks === null ? [after, limit] : [after, limit, keyChecks],
    ),
  );
}

function verifyWith(
  memory: SecretMemory,
  account: ProbedAccount,
): string | null {
  try {
    return memory.verify(account);
  } catch {
    return null;
  }
}

async function opens(
  probe: SecretProbe,
  account: ProbedAccount,
): Promise<boolean> {
  try {
    return (await probe(account)) === true;
  } catch {
    return false;
  }
}
