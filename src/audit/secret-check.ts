import { operator, type Database } from '../db/database.js';
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

/** ACTIVE accounts read per transaction. */
export const DEFAULT_SECRET_BATCH_SIZE = 500;

export const SECRET_CHECK = {
  id: 'account.active_secret_unreadable',
  title: 'No ACTIVE IntegrationAccounts whose secret does not open',
  kind: 'readiness',
} as const;

/**
 * Probes the secret of every ACTIVE account that has one, in id order,
 * one batch per short transaction so that no transaction stays open
 * while the vault works. Accounts without a secret are the
 * `account.active_without_secret` invariant's business.
 */
export async function runSecretCheck(
  db: Database,
  probe: SecretProbe,
  options: { batchSize?: number } = {},
): Promise<CheckResult> {
  const batchSize = options.batchSize ?? DEFAULT_SECRET_BATCH_SIZE;
  const unreadable: string[] = [];
  let after = '';

  for (;;) {
    const batch = await readActiveBatch(db, after, batchSize);
    for (const account of batch) {
      if (!(await opens(probe, account))) unreadable.push(account.id);
    }
    const last = batch.at(-1);
    if (!last || batch.length < batchSize) break;
    after = last.id;
  }
  return checkResult(SECRET_CHECK, unreadable.length, unreadable);
}

async function readActiveBatch(
  db: Database,
  after: string,
  limit: number,
): Promise<ProbedAccount[]> {
  return db.transaction(operator, (tx) =>
    tx.query<ProbedAccount>(
      `SELECT id, "companyId", "secretEnvelope" FROM "IntegrationAccount"
       WHERE status = 'ACTIVE' AND "secretEnvelope" <> '' AND id > $1
       ORDER BY id LIMIT $2`,
      [after, limit],
    ),
  );
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
