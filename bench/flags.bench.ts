/**
 * Flag propagation: the time from a committed change in one process's
 * connection pool to the moment another pool's flag source reads the
 * new value, with notifications (LISTEN/NOTIFY plus a 1 s poll, the
 * default) against polling alone (the baseline), in the same run on
 * the same PostgreSQL database. Target: every change within 2 s.
 *
 * Usage: npm run bench:flags [-- --changes 20]
 * Needs BENCH_DATABASE_URL or TEST_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { PostgresDatabase } from '../src/db/postgres.js';
import { FlagStore } from '../src/flags/flag-store.js';
import { StoreFlagSource } from '../src/flags/store-flag-source.js';
import { createLogger } from '../src/logging/logger.js';

const args = process.argv.slice(2);
const changes = Number(valueOf('--changes') ?? 20);
const FLAG = 'FF_ENFORCE_INTEGRATION_ACCOUNT';
const staging = { environment: 'staging' as const };

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

const quiet = createLogger(
  'silent',
  new Writable({ write: (_c, _e, done) => done() }),
);

async function propagation(
  writer: PostgresDatabase,
  reader: PostgresDatabase,
  listen: boolean,
): Promise<number[]> {
  const source = await StoreFlagSource.start({
    db: reader,
    logger: quiet,
    environment: 'staging',
    envFlags: {
      FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
      FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
      FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
      FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
    },
    listen,
    record: false,
  });
  const store = new FlagStore(writer);
  const samples: number[] = [];
  for (let i = 0; i < changes; i++) {
    const want = !source.isEnabled(FLAG, staging);
    // Start at a random point of the poll cycle.
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    await store.set({
      flag: FLAG,
      environment: 'staging',
      enabled: want,
      actor: 'bench',
      reason: 'propagation benchmark',
    });
    const committed = performance.now();
    while (source.isEnabled(FLAG, staging) !== want) {
      await new Promise((r) => setImmediate(r));
    }
    samples.push(performance.now() - committed);
  }
  await source.stop();
  return samples.sort((a, b) => a - b);
}

function summary(label: string, xs: number[]) {
  const at = (q: number) =>
    xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  const median = at(0.5) ?? 0;
  const max = xs[xs.length - 1] ?? 0;
  console.log(
    `  ${label.padEnd(26)} median ${median.toFixed(1)} ms, ` +
      `p95 ${(at(0.95) ?? 0).toFixed(1)} ms, max ${max.toFixed(1)} ms`,
  );
  return { median, max };
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
  const writer = new PostgresDatabase(u.toString(), { max: 2 });
  const reader = new PostgresDatabase(u.toString(), { max: 2 });
  try {
    await migrate(writer);
    console.log(`flag propagation between two pools, ${changes} changes:`);
    const poll = summary(
      'poll only (baseline)',
      await propagation(writer, reader, false),
    );
    const notify = summary(
      'notification + poll',
      await propagation(writer, reader, true),
    );
    console.log(
      `  ratio notification/poll:   ${(notify.median / poll.median).toFixed(3)}` +
        `; target every change < 2000 ms: ` +
        (notify.max < 2000 && poll.max < 2000 ? 'MET' : 'NOT MET'),
    );
  } finally {
    await writer.close();
    await reader.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
