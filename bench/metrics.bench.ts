/**
 * The 7-day ledger metrics on a large generated ledger, read from raw
 * events (the baseline) and with hourly rollups, in the same run on the
 * same PostgreSQL database; prints both times and the ratio. Target:
 * under 1 second with rollups.
 *
 * Usage: npm run bench:metrics [-- --events 10000000] [-- --days 10]
 *   [-- --windows 7,30] [-- --runs 3]
 * Needs BENCH_DATABASE_URL or TEST_DATABASE_URL (a server where it may
 * create and drop a database).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { PostgresDatabase } from '../src/db/postgres.js';
import { ledgerMetrics } from '../src/metrics/metrics.js';
import { rollUpHours } from '../src/metrics/rollup.js';

const args = process.argv.slice(2);
const events = Number(valueOf('--events') ?? 10_000_000);
const days = Number(valueOf('--days') ?? 10);
const runs = Number(valueOf('--runs') ?? 3);
const windows = (valueOf('--windows') ?? '7,30').split(',').map(Number);
const CHUNK = 1_000_000;

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const result = await fn();
  return [result, performance.now() - t];
}

/**
 * Events spread evenly over the last `days` days, with a realistic mix:
 * four operations, mostly V2 successes, some V1 (would-block or
 * fallback), some failures and refusals, a few probes.
 */
function generateSql(from: number, to: number, now: Date): string {
  const spanSeconds = days * 86_400;
  return `INSERT INTO "OperationEvent" (at, environment, "companyId",
      operation, path, outcome, "wouldBlock", fallback, "errorName",
      "durationMs", origin)
    SELECT timestamptz '${now.toISOString()}'
             - make_interval(secs => (i::bigint * ${spanSeconds}) / ${events}),
           'production',
           'co_' || (i % 5000),
           (ARRAY['EINVOICE_SEND', 'FISCALIZATION', 'EINVOICE_RECEIVE',
                  'EINVOICE_REPORT'])[1 + i % 4],
           CASE WHEN i % 97 = 0 THEN NULL
                WHEN i % 10 = 0 THEN 'V1' ELSE 'V2' END,
           CASE WHEN i % 97 = 0 THEN 'BLOCKED'
                WHEN i % 53 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END,
           i % 10 = 0 AND i % 20 = 0,
           i % 10 = 0 AND i % 30 = 0,
           CASE WHEN i % 97 = 0 THEN 'IntegrationNotFoundError'
                WHEN i % 53 = 0 THEN 'CounterpartUnavailableError' END,
           10 + i % 200,
           CASE WHEN i % 1000 = 0 THEN 'probe' ELSE 'user' END
      FROM generate_series(${from}, ${to - 1}) AS i`;
}

async function measureWindow(
  db: PostgresDatabase,
  now: Date,
  windowDays: number,
): Promise<void> {
  const window = {
    environment: 'production' as const,
    since: new Date(now.getTime() - windowDays * 86_400_000 + 1_234_567),
    until: now,
  };
  const raw: number[] = [];
  const rolled: number[] = [];
  let sample = 0;
  for (let i = 0; i < runs; i++) {
    const [m, rawMs] = await timed(() =>
      ledgerMetrics(db, window, { useRollups: false }),
    );
    const [r, rolledMs] = await timed(() => ledgerMetrics(db, window));
    if (m.sampleSize !== r.sampleSize) {
      throw new Error(`raw ${m.sampleSize} != rolled ${r.sampleSize}`);
    }
    sample = m.sampleSize;
    raw.push(rawMs);
    rolled.push(rolledMs);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const rawMed = med(raw) ?? 0;
  const rolledMed = med(rolled) ?? 0;
  console.log(
    `\n${windowDays}-day metrics over ${events} events (${sample} legitimate in ` +
      `the window), median of ${runs}, 1-min load ` +
      `${loadavg()[0]?.toFixed(2)}:`,
  );
  console.log(`  raw events (baseline): ${rawMed.toFixed(0)} ms`);
  console.log(`  with hourly rollups:   ${rolledMed.toFixed(0)} ms`);
  console.log(
    `  ratio rollups/raw:     ${(rolledMed / rawMed).toFixed(4)}` +
      ` (${(rawMed / rolledMed).toFixed(0)}x faster); target < 1000 ms: ` +
      (rolledMed < 1000 ? 'MET' : 'NOT MET'),
  );
}

async function main(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('set BENCH_DATABASE_URL or TEST_DATABASE_URL');
  const name = `tenantgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = new PostgresDatabase(u.toString(), { max: 2 });
  try {
    await migrate(db);
    const now = new Date();
    console.log(`generating ${events} events over ${days} days...`);
    const [, genMs] = await timed(() =>
      db.withOwnerSession(async (s) => {
        for (let from = 0; from < events; from += CHUNK) {
          await s.exec(generateSql(from, Math.min(events, from + CHUNK), now));
        }
        await s.exec('ANALYZE "OperationEvent"');
      }),
    );
    console.log(`generated in ${(genMs / 1000).toFixed(1)} s`);

    const [rollup, rollMs] = await timed(() =>
      rollUpHours(db, { now, lagMs: 0 }),
    );
    await db.withOwnerSession((s) => s.exec('ANALYZE "OperationEventHourly"'));
    console.log(
      `rolled up ${rollup.hours} hours in ${(rollMs / 1000).toFixed(1)} s`,
    );

    for (const windowDays of windows) {
      await measureWindow(db, now, windowDays);
    }
  } finally {
    await db.close();
    if (!process.env.BENCH_KEEP) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    await admin.end();
  }
}

await main();
