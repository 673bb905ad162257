/**
 * The spec's daily readiness check (phase5-rollout-checklist.md,
 * "Enforcement Readiness Dashboard"):
 *
 *   npx tsx scripts/check-integration-invariants.ts [--json]
 *
 * Opens the configured database (DATABASE_URL, else the embedded one),
 * runs the invariants and prints `✅ All database invariants satisfied.`
 * or each violated invariant with its count and sample ids; `--json`
 * prints the report object instead. Exit code: 0 when every invariant
 * holds, 1 when one is violated, 2 when the check could not run.
 */
import { runInvariants } from '../src/audit/audit.js';
import { formatInvariantsReport } from '../src/audit/format.js';
import { exitCodeFor } from '../src/audit/report.js';
import { loadSettings } from '../src/config/settings.js';
import { openDatabase } from '../src/db/open.js';
import { toTenantGateError } from '../src/errors/tenantgate-error.js';

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const settings = loadSettings();
  const db = await openDatabase(settings);
  try {
    const report = await runInvariants(db, {
      accountEnvironment: settings.accountEnvironment,
    });
    console.log(
      json ? JSON.stringify(report, null, 2) : formatInvariantsReport(report),
    );
    return exitCodeFor(report);
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = toTenantGateError(error);
    console.error(`${failure.name} (${failure.code}): ${failure.message}`);
    process.exitCode = 2;
  },
);
