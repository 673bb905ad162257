/**
 * The migration on a legacy platform, on PostgreSQL, in one run, as
 * docs/migration.md says: generate (peak memory), adopt, audit,
 * provision, entitlements suspend, unlink, backfill (which ends with
 * ANALYZE of the tables it linked rows in), audit (every check's
 * status printed: the target is all READY). The
 * backfill's rate is printed against one single UPDATE that links the
 * same rows in the same run (target: at least half its rate), with the
 * longest batch transaction (target: under 1 s) and the audit's time
 * (target: under 2 s), timed before that baseline rewrites the rows,
 * with each of its statements' time and once more after VACUUM ANALYZE.
 * Provisioning prints where its time goes: the vault's calls (opening
 * each legacy PKCS#12, sealing) and this process's CPU.
 * Lines with absolute times print the 1-minute load average.
 *
 * Usage: npx tsx bench/migration.bench.ts [--companies 5000]
 *   [--invoices 20]   (DATABASE_URL or TEST_DATABASE_URL required)
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { accountBinding } from '../src/accounts/account-service.js';
import { runAudit } from '../src/audit/audit.js';
import { checkPasses, runCheckPass, SQL_CHECKS } from '../src/audit/checks.js';
import {
  runSecretCheck,
  vaultSecretMemory,
} from '../src/audit/secret-check.js';
import { operator } from '../src/db/database.js';
import { PostgresDatabase } from '../src/db/postgres.js';
import { createLogger } from '../src/logging/logger.js';
import { adopt } from '../src/migration/adopt.js';
import { backfill } from '../src/migration/backfill.js';
import { suspendUnbackedEntitlements } from '../src/migration/entitlements.js';
import { generateLegacyPlatform } from '../src/migration/legacy-demo.js';
import { provision } from '../src/migration/provision.js';
import { unlinkWrongLinks } from '../src/migration/unlink.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const args = process.argv.slice(2);
const companies = Number(valueOf('--companies') ?? 5000);
const invoices = Number(valueOf('--invoices') ?? 20);

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The 1-minute load average, for lines that report absolute times. */
function load(): string {
  return `load ${loadavg()[0]?.toFixed(2)}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const result = await fn();
  return [result, performance.now() - t];
}

/** Samples resident memory while `fn` runs; returns the peak in MB. */
async function peakRss<T>(fn: () => Promise<T>): Promise<[T, number]> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  try {
    const result = await fn();
    return [
      result,
      Math.round(Math.max(peak, process.memoryUsage().rss) / 1e6),
    ];
  } finally {
    clearInterval(timer);
  }
}

/**
 * The vault, with the time spent in each of its methods counted: where
 * provisioning's time goes (PKCS#12 opening, sealing) against the rest
 * (PostgreSQL round trips, the process's own work).
 */
function timedVault(vault: Vault) {
  const spent = new Map<string, { calls: number; ms: number }>();
  const proxy = new Proxy(vault, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const t = performance.now();
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          const entry = spent.get(String(prop)) ?? { calls: 0, ms: 0 };
          entry.calls++;
          entry.ms += performance.now() - t;
          spent.set(String(prop), entry);
        }
      };
    },
  });
  const summary = () =>
    [...spent]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(
        ([name, e]) =>
          `${name} ${e.calls} calls ${(e.ms / 1000).toFixed(1)} s ` +
          `(${(e.ms / e.calls).toFixed(2)} ms each)`,
      )
      .join(', ');
  return { vault: proxy, summary };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) {
    console.error('set DATABASE_URL or TEST_DATABASE_URL (PostgreSQL)');
    process.exit(2);
  }
  const name = `tenantgate_migbench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  const db = new PostgresDatabase(dbUrl.toString(), { max: 4 });
  const vault = new Vault(
    parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
  );
  const logger = createLogger('silent');
  const deps = { db, vault, logger };
  const secretProbe = (a: {
    id: string;
    companyId: string;
    secretEnvelope: string;
  }) => vault.canOpen(a.secretEnvelope, accountBinding(a.companyId, a.id));
  const audit = () =>
    runAudit(db, {
      accountEnvironment: 'TEST',
      secretProbe,
      secretMemory: vaultSecretMemory(vault),
    });
  // Where an audit's time goes: each of its statements alone, one
  // after another (the audit runs them side by side), then the secret
  // check with its memory. The link checks share one statement.
  const auditParts = async () => {
    const parts: string[] = [];
    for (const pass of checkPasses(SQL_CHECKS)) {
      const [, ms] = await timed(() =>
        db.transaction(operator, (tx) => runCheckPass(tx, pass, 'TEST')),
      );
      const label =
        pass.checks.length === 1
          ? pass.checks[0]?.id
          : `link checks (${pass.checks.length})`;
      parts.push(`${label} ${ms.toFixed(0)}`);
    }
    const [, ms] = await timed(() =>
      runSecretCheck(db, secretProbe, { memory: vaultSecretMemory(vault) }),
    );
    parts.push(`account.active_secret_unreadable ${ms.toFixed(0)}`);
    return parts.join(', ');
  };
  // The same audit opening every secret: what the memory saves.
  const auditOpeningAll = () =>
    runAudit(db, {
      accountEnvironment: 'TEST',
      secretProbe,
    });

  try {
    const [generated, genMb] = await peakRss(() =>
      generateLegacyPlatform(deps, {
        companies,
        invoicesPerCompany: invoices,
      }),
    );
    console.log(
      `generate: ${generated.companies} companies, ${generated.invoices} ` +
        `invoices, ${generated.fiscalRequests} fiscal requests in ` +
        `${(generated.elapsedMs / 1000).toFixed(1)} s, peak RSS ${genMb} MB` +
        ' (target < 500 MB)',
    );
    const [, adoptMs] = await timed(() =>
      adopt({ db, logger }, { verifyRows: false }),
    );
    console.log(`adopt: ${(adoptMs / 1000).toFixed(1)} s`);
    const [before, auditBeforeMs] = await timed(audit);
    console.log(
      `audit before: ${auditBeforeMs.toFixed(0)} ms (target < 2000, ` +
        `${load()}), ` +
        `${before.checks.filter((c) => c.status === 'READY').length}/` +
        `${before.checks.length} READY`,
    );
    const counted = timedVault(vault);
    const cpuBefore = process.cpuUsage();
    const [provisioned, provMs] = await timed(() =>
      provision(
        { ...deps, vault: counted.vault },
        { apply: true, accountEnvironment: 'TEST' },
      ),
    );
    const provCpu = process.cpuUsage(cpuBefore);
    console.log(
      `provision: ${provisioned.counts.created} created, ` +
        `${provisioned.counts.repaired} repaired, ` +
        `${provisioned.counts['created-inactive']} created inactive ` +
        `${JSON.stringify(provisioned.inactiveByReason)}, ` +
        `${provisioned.counts['not-provisioned']} not provisioned ` +
        `${JSON.stringify(provisioned.notProvisionedByReason)} in ` +
        `${(provMs / 1000).toFixed(1)} s (${load()}); entitlements ` +
        `without an ACTIVE account ` +
        JSON.stringify(provisioned.entitlementsWithoutAccount),
    );
    console.log(
      `provision, where the time goes: this process's CPU ` +
        `${((provCpu.user + provCpu.system) / 1e6).toFixed(1)} s of ` +
        `${(provMs / 1000).toFixed(1)} s, of which the vault: ` +
        `${counted.summary()}; the rest of the time waits on PostgreSQL ` +
        '(one round trip per statement, a savepoint per credential) or ' +
        'for a CPU',
    );
    const [suspended, suspendMs] = await timed(() =>
      suspendUnbackedEntitlements(deps, {
        apply: true,
        accountEnvironment: 'TEST',
      }),
    );
    console.log(
      `entitlements suspend --apply: ${suspended.suspended} switched off ` +
        `${JSON.stringify(suspended.byEntitlement)} in ` +
        `${suspendMs.toFixed(0)} ms`,
    );
    const [unlinked, unlinkMs] = await timed(() =>
      unlinkWrongLinks(deps, { apply: true }),
    );
    console.log(
      `unlink --apply: ${unlinked.unlinked} wrong links removed ` +
        `${JSON.stringify(unlinked.byReason)} in ${unlinkMs.toFixed(0)} ms`,
    );

    const filled = await backfill(deps, {
      apply: true,
      accountEnvironment: 'TEST',
    });
    const { linked, elapsedMs, scanned } = filled.tables.EInvoice;
    const rate = Math.round((linked * 1000) / elapsedMs);
    console.log(
      `backfill: ${linked} of ${scanned} served unlinked invoices linked in ` +
        `${elapsedMs} ms (${rate} rows/s; whole run with fiscal ` +
        `requests ${filled.elapsedMs} ms), longest batch ` +
        `${filled.longestBatchMs} ms (target < 1000; ${load()}); then ` +
        `ANALYZE ${filled.analyzed.join(', ')} in ${filled.analyzeMs} ms; ` +
        `fiscal requests linked ${filled.tables.FiscalRequest.linked}; ` +
        `ambiguous ${filled.ambiguousRows.length}`,
    );

    const [after, auditAfterMs] = await timed(audit);
    console.log(
      `audit after: ${auditAfterMs.toFixed(0)} ms (target < 2000, ${load()}; ` +
        'secrets recorded as opening by provisioning are not opened ' +
        'again), ' +
        after.checks.map((c) => `${c.id}=${c.count}`).join(' '),
    );
    console.log(
      `audit after, statuses: ${after.ready ? 'all READY' : 'NOT READY'}: ` +
        after.checks.map((c) => `${c.id} ${c.status}`).join(', '),
    );
    const [, openingAllMs] = await timed(auditOpeningAll);
    console.log(
      `audit after, opening every secret: ${openingAllMs.toFixed(0)} ms ` +
        `(memory saves ${(openingAllMs / auditAfterMs).toFixed(1)}x)`,
    );
    console.log(`audit after, by check (ms): ${await auditParts()}`);

    const single = await singleUpdate(db, dbUrl.toString(), linked);
    const ratio = rate / single.rowsPerSecond;
    console.log(
      `single UPDATE of the same rows: ${single.rows} rows in ` +
        `${single.ms.toFixed(0)} ms (${single.rowsPerSecond} rows/s), ` +
        `holding its row locks the whole time`,
    );
    console.log(
      `backfill rate / single UPDATE rate: ${ratio.toFixed(2)} ` +
        '(target >= 0.50)',
    );

    // The audit after ran on the tables as the backfill left them; the
    // baseline's UPDATE leaves one more dead row version per link.
    // Autovacuum reclaims them in time; this is the audit afterwards.
    await db.withOwnerSession((s) =>
      s.exec('VACUUM ANALYZE "EInvoice", "FiscalRequest"'),
    );
    const [, vacuumedMs] = await timed(audit);
    console.log(
      `audit after VACUUM ANALYZE: ${vacuumedMs.toFixed(0)} ms (${load()}); ` +
        `by check (ms): ${await auditParts()}`,
    );
    console.log(
      `this process's peak RSS over the whole run: ` +
        `${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    );
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * The baseline: the links the backfill made, undone (not timed), then
 * written again by one UPDATE from a prepared id → account table, on a
 * connection of its own as the database's owner. It counts the rows it
 * updated (no RETURNING: millions of returned rows would cost this
 * process hundreds of MB and the baseline their transfer).
 */
async function singleUpdate(
  db: PostgresDatabase,
  url: string,
  expected: number,
) {
  await db.withOwnerSession(async (s) => {
    await s.query(`CREATE TABLE bench_links AS
      SELECT e.id, e."integrationAccountId" AS account FROM "EInvoice" e
      JOIN "AccountProvenance" p
        ON p."integrationAccountId" = e."integrationAccountId"
       AND p."companyId" = e."companyId"`);
    await s.query(`UPDATE "EInvoice" e SET "integrationAccountId" = NULL
      FROM bench_links b WHERE e.id = b.id`);
    await s.query('VACUUM ANALYZE "EInvoice"');
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [result, ms] = await timed(() =>
      client.query(`UPDATE "EInvoice" e SET "integrationAccountId" = b.account
        FROM bench_links b WHERE e.id = b.id`),
    );
    const rows = result.rowCount ?? 0;
    if (rows !== expected) {
      console.log(`(baseline rows ${rows} differ from ${expected})`);
    }
    return { rows, ms, rowsPerSecond: Math.round((rows * 1000) / ms) };
  } finally {
    await client.end();
  }
}

await main();
