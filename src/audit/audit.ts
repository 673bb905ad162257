import type { Database } from '../db/database.js';
import { runSqlChecks, SQL_CHECKS } from './checks.js';
import { auditReport, type AuditReport } from './report.js';
import {
  runSecretCheck,
  type SecretMemory,
  type SecretProbe,
} from './secret-check.js';

export interface InvariantsOptions {
  /** The deployment's account environment (`settings.accountEnvironment`). */
  accountEnvironment: 'TEST' | 'PROD';
  /** The report's timestamp. Default: now. */
  now?: () => Date;
}

export interface AuditOptions extends InvariantsOptions {
  /** Says whether an ACTIVE account's secret opens (from the vault). */
  secretProbe: SecretProbe;
  /** ACTIVE accounts probed per batch. Default 500. */
  secretBatchSize?: number;
  /**
   * Skip envelopes recorded as opening under a key the vault still
   * holds, and record those that open (`vaultSecretMemory`). Default
   * none: every secret is opened, nothing is written.
   */
  secretMemory?: SecretMemory;
}

/**
 * Runs every check: the spec's readiness prerequisites, the invariants,
 * and whether each ACTIVE account's secret opens. Read-only but for the
 * secret memory; runs in operator scope because the audit looks across
 * companies. The SQL checks and the secret check run side by side on
 * PostgreSQL (`runSqlChecks`).
 */
export async function runAudit(
  db: Database,
  options: AuditOptions,
): Promise<AuditReport> {
  const generatedAt = (options.now ?? (() => new Date()))();

  const [sql, secret] = await Promise.allSettled([
    runSqlChecks(db, SQL_CHECKS, options.accountEnvironment),
    runSecretCheck(db, options.secretProbe, {
      batchSize: options.secretBatchSize,
      memory: options.secretMemory,
    }),
  ]);
  if (sql.status === 'rejected') throw sql.reason;
  if (secret.status === 'rejected') throw secret.reason;

  return auditReport(db.kind, generatedAt, [...sql.value, secret.value]);
}

/**
 * Runs only the invariants: the row-level facts that must always hold
 * (issued e-invoices and successful fiscal requests have an account, a
 * linked account is the row's company's and of the right kind and
 * exists, an ACTIVE account has a secret). Needs no vault.
 */
export async function runInvariants(
  db: Database,
  options: InvariantsOptions,
): Promise<AuditReport> {
  const generatedAt = (options.now ?? (() => new Date()))();
  const invariants = SQL_CHECKS.filter((c) => c.kind === 'invariant');
  const results = await runSqlChecks(
    db,
    invariants,
    options.accountEnvironment,
  );
  return auditReport(db.kind, generatedAt, results);
}
