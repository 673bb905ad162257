/**
 * Benchmarks, printed as ratios against a baseline measured in the same
 * run on the same database:
 * 1. sequential, one operation at a time: the enforcement gate's cost
 *    per operation (resolve, tenant check, vault open, one durable
 *    operation event) against a bare primary-key lookup of the account:
 *    cold (every operation resolves, two round trips) and warm (the
 *    route cache holds the resolution, one round trip: the event); each
 *    round trip one self-scoped autocommit statement where the session
 *    is the app role. The vault is wired as in production: an
 *    authoriser opened for an envelope is handed out again for that
 *    exact envelope for up to 2 s; the warm gate is also measured with
 *    a vault that opens every time;
 * 2. under concurrency (PostgreSQL only), what a service running many
 *    operations at once pays per operation: for each level of N
 *    concurrent callers (default 1, 4, 8, 16; pools of N connections)
 *    each running operations back to back, the bare lookup, one bare
 *    durable insert (the commit floor), the warm and the cold gate, and
 *    the gate's event statement alone take turns in bursts, the order
 *    rotated every round. Printed per level: throughput, per-op cost
 *    ratio (bare lookup ops/s ÷ ops/s), p50 and p99 latency, and CPU
 *    per operation of this process and of the database's backends
 *    (from /proc: less dependent on what else the machine runs). Every
 *    commit stays durable (synchronous_commit and fsync are checked and
 *    printed) and the events written are counted against the attempts;
 * 3. `npm start -- --once`: time to the first send summary and peak
 *    memory, first run (fresh data folder) and second run.
 *
 * Usage: npm run bench [-- --iterations 300] [-- --skip-start]
 *   [-- --concurrency 1,4,8,16] [-- --per-caller 300]
 *   [-- --skip-concurrent]
 * PostgreSQL is measured when DATABASE_URL or TEST_DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AccountService } from '../src/accounts/account-service.js';
import { CompanyService } from '../src/companies/company-service.js';
import { completeOib } from '../src/companies/oib.js';
import { tenant, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { PgliteDatabase } from '../src/db/pglite.js';
import { PostgresDatabase } from '../src/db/postgres.js';
import {
  eventInsert,
  singleEventInsert,
} from '../src/enforcement/attempt-statements.js';
import { EnforcementGate } from '../src/enforcement/gate.js';
import { RouteCache } from '../src/enforcement/route-cache.js';
import { StaticFlagSource } from '../src/flags/env-flags.js';
import type { OperationEvent } from '../src/events/operation-event.js';
import { createLogger, type Logger } from '../src/logging/logger.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const args = process.argv.slice(2);
const iterations = Number(valueOf('--iterations') ?? 300);
const warmup = 30;
const levels = (valueOf('--concurrency') ?? '1,4,8,16')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const perCaller = Number(valueOf('--per-caller') ?? 300);
const rounds = 10;

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Variant {
  label: string;
  fn: () => Promise<unknown>;
}

/**
 * Runs the variants interleaved, one operation of each per round, so
 * that a change in the machine's load weighs on all of them alike.
 */
async function measureAll(variants: Variant[]): Promise<Measured[]> {
  for (let i = 0; i < warmup; i++) {
    for (const v of variants) await v.fn();
  }
  const samples = variants.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    for (const [n, v] of variants.entries()) {
      const t = performance.now();
      await v.fn();
      samples[n]?.push(performance.now() - t);
    }
  }
  return variants.map((v, n) => {
    const sorted = (samples[n] ?? []).sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const p50 = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return { label: v.label, mean, p50 };
  });
}

/**
 * The raw statements the gate is compared with, run by the database
 * owner without any scope: a bare lookup, and the cheapest durable write.
 */
interface Raw {
  lookup(id: string): Promise<unknown>;
  insert(): Promise<unknown>;
}

/** A company on V2 with one ACTIVE e-invoice account, as benched. */
async function benchTenant(db: Database, vault: Vault, logger: Logger) {
  const companies = new CompanyService({ db, vault, logger });
  const accounts = new AccountService({ db, vault, logger });
  const oib = completeOib(
    `7${randomBytes(4).readUInt32BE(0)}`.slice(0, 10).padEnd(10, '0'),
  );
  const company = await companies.create({
    name: 'Bench d.o.o.',
    oib,
    eInvoicingEnabled: true,
    eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
  });
  const account = await accounts.create({
    companyId: company.id,
    kind: 'EINVOICE_EPOSLOVANJE',
    environment: 'TEST',
    secret: 'bench-api-key',
  });
  return { company, account };
}

/** The event a successful warm V2 send writes, as benched alone. */
function benchEvent(companyId: string, accountId: string): OperationEvent {
  return {
    environment: 'staging',
    companyId,
    integrationAccountId: accountId,
    operation: 'EINVOICE_SEND',
    kind: 'EINVOICE_EPOSLOVANJE',
    path: 'V2',
    outcome: 'SUCCESS',
    wouldBlock: false,
    fallback: false,
    errorName: null,
    errorCode: null,
    errorLayer: null,
    durationMs: 0,
    origin: 'probe',
    actor: null,
    correlationId: null,
    documentId: null,
  };
}

async function benchGate(db: Database, name: string, raw: Raw) {
  const rawLookup = (id: string) => raw.lookup(id);
  const rawInsert = () => raw.insert();
  const logger = createLogger('silent');
  const ring = parseKeyList(`v1:${randomBytes(32).toString('base64')}`);
  // As openTenantGate wires it (TENANTGATE_ROUTE_CACHE_MAX_AGE_MS 2000).
  const vault = new Vault(ring, { openCacheMs: 2000 });
  const { company, account } = await benchTenant(db, vault, logger);
  const gateDeps = {
    db,
    vault,
    flags: new StaticFlagSource({ FF_ENFORCE_INTEGRATION_ACCOUNT: true }),
    logger,
    deploymentEnvironment: 'staging' as const,
    accountEnvironment: 'TEST' as const,
  };
  const cold = new EnforcementGate(gateDeps);
  const routes = await RouteCache.start({ db, logger });
  const warm = new EnforcementGate({ ...gateDeps, routes });
  const opening = new EnforcementGate({
    ...gateDeps,
    vault: new Vault(ring),
    routes,
  });
  const operation = (gate: EnforcementGate) => () =>
    gate.run(
      { companyId: company.id, operation: 'EINVOICE_SEND', origin: 'probe' },
      { execute: async (route) => route.decision.path },
    );

  const facts = benchEvent(company.id, account.id);
  const event = eventInsert(facts, { checkAccount: true });
  const single = singleEventInsert(facts, { checkAccount: true });
  const runSingle = db.single?.bind(db);
  const [bare, scoped, floor, batch, alone, gatedCold, gatedWarm, opened] =
    await measureAll([
      { label: 'bare primary-key lookup', fn: () => rawLookup(account.id) },
      {
        label: 'tenant-scoped primary-key lookup',
        fn: () =>
          db.batch(tenant(company.id), [
            {
              sql: 'SELECT id, "companyId", status FROM "IntegrationAccount" WHERE id = $1',
              params: [account.id],
            },
          ]),
      },
      { label: 'one durable insert (commit floor)', fn: rawInsert },
      {
        label: 'event batch alone (tenant, durable)',
        fn: () => db.batch(tenant(company.id), [event]),
      },
      {
        label: 'event statement alone (self-scoped)',
        fn: async () => {
          const rows = await runSingle?.(tenant(company.id), single);
          if (!rows?.length) await db.batch(tenant(company.id), [event]);
        },
      },
      { label: 'gate, cold (resolve every time)', fn: operation(cold) },
      { label: 'gate, warm (route cache)', fn: operation(warm) },
      { label: 'gate, warm, vault opens every time', fn: operation(opening) },
    ]);
  if (
    !bare ||
    !scoped ||
    !floor ||
    !batch ||
    !alone ||
    !gatedCold ||
    !gatedWarm ||
    !opened
  ) {
    throw new Error('a variant was not measured');
  }
  const { hits, misses } = routes.status();
  await routes.stop();
  print(name, bare, [
    scoped,
    floor,
    batch,
    alone,
    gatedCold,
    gatedWarm,
    opened,
  ]);
  const ratio = (a: Measured, key: 'mean' | 'p50') =>
    (a[key] / bare[key]).toFixed(2);
  console.log(
    `  ratio gate / bare lookup (mean; p50): cold ` +
      `${ratio(gatedCold, 'mean')}x; ${ratio(gatedCold, 'p50')}x, warm ` +
      `${ratio(gatedWarm, 'mean')}x; ${ratio(gatedWarm, 'p50')}x ` +
      `(target <= 2x on PostgreSQL)\n  warm, vault opening every time: ` +
      `${ratio(opened, 'mean')}x; ${ratio(opened, 'p50')}x\n` +
      `  floors: durable insert ${ratio(floor, 'mean')}x; ` +
      `${ratio(floor, 'p50')}x, event statement alone ` +
      `${ratio(alone, 'mean')}x; ${ratio(alone, 'p50')}x (a warm ` +
      `operation is that statement plus the gate's JavaScript; a cold ` +
      `one adds the resolution's round trip)\n` +
      `  route cache ${hits} hits, ${misses} misses`,
  );
}

type Measured = { label: string; mean: number; p50: number };

function print(db: string, baseline: Measured, others: Measured[]) {
  console.log(`\n[${db}] ${iterations} operations each`);
  for (const r of [baseline, ...others]) {
    const ratio = (r.mean / baseline.mean).toFixed(2);
    console.log(
      `  ${r.label.padEnd(36)} mean ${r.mean.toFixed(3)} ms  ` +
        `p50 ${r.p50.toFixed(3)} ms  ${ratio}x`,
    );
  }
}

const PROBE_TABLE = `CREATE TABLE IF NOT EXISTS bench_probe (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz
  NOT NULL DEFAULT now(), note text)`;

async function withPostgres(url: string) {
  const name = `tenantgate_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = new PostgresDatabase(u.toString());
  const owner = new pg.Client({ connectionString: u.toString() });
  try {
    await migrate(db);
    await owner.connect();
    await owner.query(PROBE_TABLE);
    await benchGate(db, 'postgres', {
      lookup: (id) =>
        owner.query(
          'SELECT id, "companyId", status FROM "IntegrationAccount" WHERE id = $1',
          [id],
        ),
      insert: () =>
        owner.query('INSERT INTO bench_probe (note) VALUES ($1)', ['x']),
    });
  } finally {
    await owner.end();
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Cost per operation under concurrency (PostgreSQL only: PGlite runs
 * one statement at a time). For each level, `callers` concurrent
 * callers each run operations back to back on a pool of that many
 * connections; the variants take turns in bursts, the order rotated
 * every round, so that a change in the machine's load weighs on all of
 * them alike. Per-op cost ratio = baseline ops/s ÷ variant ops/s.
 */
async function benchConcurrent(url: string) {
  const name = `tenantgate_bench_c_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const scratch = u.toString();
  const setup = new PostgresDatabase(scratch, { max: 2 });
  const logger = createLogger('silent');
  const ring = parseKeyList(`v1:${randomBytes(32).toString('base64')}`);
  try {
    await migrate(setup);
    await setup.withOwnerSession((s) => s.exec(PROBE_TABLE));
    const tenantRows = await benchTenant(
      setup,
      new Vault(ring, { openCacheMs: 2000 }),
      logger,
    );
    console.log(
      `\n[postgres, concurrent] ${perCaller} operations per caller, ` +
        `${rounds} rounds of bursts, variants in rotating order`,
    );
    for (const callers of levels) {
      await benchLevel(scratch, callers, { logger, ring, ...tenantRows });
    }
  } finally {
    await setup.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

interface LevelSetup {
  logger: Logger;
  ring: ReturnType<typeof parseKeyList>;
  company: { id: string };
  account: { id: string };
}

/** One concurrency level: fresh pools of `callers` connections. */
async function benchLevel(url: string, callers: number, s: LevelSetup) {
  const owner = new pg.Pool({ connectionString: url, max: callers });
  // The scratch database is dropped with force at the end.
  owner.on('error', () => undefined);
  const db = new PostgresDatabase(url, { max: callers });
  const routes = await RouteCache.start({ db, logger: s.logger });
  try {
    const durable = await durability(db, owner, s.company.id);
    const gateDeps = {
      db,
      // As openTenantGate wires it (TENANTGATE_ROUTE_CACHE_MAX_AGE_MS 2000).
      vault: new Vault(s.ring, { openCacheMs: 2000 }),
      flags: new StaticFlagSource({ FF_ENFORCE_INTEGRATION_ACCOUNT: true }),
      logger: s.logger,
      deploymentEnvironment: 'staging' as const,
      accountEnvironment: 'TEST' as const,
    };
    const cold = new EnforcementGate(gateDeps);
    const warm = new EnforcementGate({ ...gateDeps, routes });
    let attempts = 0;
    const operation = (gate: EnforcementGate) => () => {
      attempts++;
      return gate.run(
        {
          companyId: s.company.id,
          operation: 'EINVOICE_SEND',
          origin: 'probe',
        },
        { execute: async (route) => route.decision.path },
      );
    };
    // As the gate writes it: self-scoped, or in a batch on a connection
    // not yet known to be the app role (only while the pool opens).
    const facts = benchEvent(s.company.id, s.account.id);
    const single = singleEventInsert(facts, { checkAccount: true });
    const batched = eventInsert(facts, { checkAccount: true });
    const alone = async () => {
      attempts++;
      const rows = await db.single(tenant(s.company.id), single);
      if (!rows?.length) await db.batch(tenant(s.company.id), [batched]);
    };
    const events = async () => {
      const { rows } = await owner.query<{ n: string }>(
        'SELECT count(*) AS n FROM "OperationEvent"',
      );
      return Number(rows[0]?.n);
    };
    const eventsBefore = await events();
    const load = loadavg()[0] ?? 0;
    const results = await measureConcurrent(
      callers,
      [
        {
          label: 'bare primary-key lookup',
          fn: () =>
            owner.query(
              'SELECT id, "companyId", status FROM "IntegrationAccount" WHERE id = $1',
              [s.account.id],
            ),
        },
        {
          label: 'one durable insert (commit floor)',
          fn: () =>
            owner.query('INSERT INTO bench_probe (note) VALUES ($1)', ['x']),
        },
        { label: 'gate, warm (route cache)', fn: operation(warm) },
        { label: 'gate, cold (resolve every time)', fn: operation(cold) },
        { label: 'event statement alone (self-scoped)', fn: alone },
      ],
      async () => {
        const { rows } = await owner.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
             AND backend_type = 'client backend'`,
        );
        return rows.map((r) => r.pid);
      },
    );
    const written = (await events()) - eventsBefore;
    printConcurrent(callers, results, {
      load: `${load.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`,
      durable,
      events: `${written} events for ${attempts} attempts`,
    });
  } finally {
    await routes.stop();
    await db.close();
    await owner.end();
  }
}

/**
 * Durability as the gate's sessions (the app role, in a tenant
 * transaction) and the baseline's (the owner) see it.
 */
async function durability(
  db: PostgresDatabase,
  owner: pg.Pool,
  companyId: string,
): Promise<string> {
  const sql = `SELECT current_setting('synchronous_commit') AS "synchronous_commit",
    current_setting('fsync') AS fsync`;
  type Settings = { synchronous_commit: string; fsync: string };
  const [app] = await db.transaction(tenant(companyId), (tx) =>
    tx.query<Settings>(sql),
  );
  const { rows } = await owner.query<Settings>(sql);
  const sessions: [string, Settings | undefined][] = [
    ['app role', app],
    ['owner', rows[0]],
  ];
  const off = sessions.flatMap(([who, s]) =>
    Object.entries(s ?? {})
      .filter(([, v]) => v !== 'on')
      .map(([k, v]) => `${k} ${v} (${who})`),
  );
  return off.length === 0
    ? 'synchronous_commit on, fsync on (app role and owner)'
    : `NOT DURABLE, these numbers do not count: ${off.join(', ')}`;
}

interface Concurrent {
  label: string;
  ops: number;
  ms: number;
  latencies: number[];
  /** CPU milliseconds of this process (the callers, pg, the gate). */
  benchCpu: number;
  /** CPU milliseconds of the scratch database's backends. */
  serverCpu: number;
}

/**
 * Runs each variant as bursts of `callers` concurrent callers, each
 * running `perCaller / rounds` operations back to back per burst; one
 * burst of every variant per round, the order rotated each round. A
 * warm-up burst of each opens and primes every connection first.
 */
async function measureConcurrent(
  callers: number,
  variants: Variant[],
  backends: () => Promise<number[]>,
): Promise<Concurrent[]> {
  const perBurst = Math.max(1, Math.round(perCaller / rounds));
  const scratch: number[] = [];
  for (const v of variants) await burst(v.fn, callers, perBurst, scratch);
  const pids = await backends();
  const results = variants.map((v) => ({
    label: v.label,
    ops: 0,
    ms: 0,
    latencies: [] as number[],
    benchCpu: 0,
    serverCpu: 0,
  }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const n = (round + k) % variants.length;
      const v = variants[n];
      const r = results[n];
      if (!v || !r) continue;
      const server = serverCpuMs(pids);
      const bench = process.cpuUsage();
      r.ms += await burst(v.fn, callers, perBurst, r.latencies);
      const used = process.cpuUsage(bench);
      r.serverCpu += serverCpuMs(pids) - server;
      r.benchCpu += (used.user + used.system) / 1000;
      r.ops += callers * perBurst;
    }
  }
  return results;
}

/**
 * CPU milliseconds so far of PostgreSQL backends on this machine, from
 * /proc/PID/schedstat (nanoseconds on a CPU); a backend gone counts 0.
 */
function serverCpuMs(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const [ns] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
      total += Number(ns) / 1e6;
    } catch {
      // Gone, or not on this machine.
    }
  }
  return total;
}

/** `callers` loops of `count` operations each; the burst's wall time. */
async function burst(
  fn: () => Promise<unknown>,
  callers: number,
  count: number,
  latencies: number[],
): Promise<number> {
  const started = performance.now();
  const caller = async () => {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await fn();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return performance.now() - started;
}

function printConcurrent(
  callers: number,
  results: Concurrent[],
  notes: { load: string; durable: string; events: string },
) {
  const [baseline, floor, warm, cold] = results;
  if (!baseline || !floor || !warm || !cold) return;
  const rate = (r: Concurrent) => (r.ops / r.ms) * 1000;
  const cpu = (r: Concurrent) => (r.benchCpu + r.serverCpu) / r.ops;
  console.log(
    `\n  ${callers} concurrent caller(s), pool of ${callers}, load ` +
      `${notes.load}; ${notes.durable}; ${notes.events}`,
  );
  for (const r of results) {
    const sorted = [...r.latencies].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
    console.log(
      `  ${r.label.padEnd(36)} ${rate(r).toFixed(0).padStart(6)} ops/s ` +
        `${(rate(baseline) / rate(r)).toFixed(2)}x  ` +
        `p50 ${at(0.5).toFixed(3)} p99 ${at(0.99).toFixed(3)} ms  ` +
        `CPU/op ${(r.benchCpu / r.ops).toFixed(3)} + ` +
        `${(r.serverCpu / r.ops).toFixed(3)} ms ` +
        `${(cpu(r) / cpu(baseline)).toFixed(2)}x`,
    );
  }
  const ratio = (r: Concurrent) => rate(baseline) / rate(r);
  const verdict = (r: Concurrent) =>
    `${ratio(r).toFixed(2)}x (${ratio(r) <= 2 ? 'met' : 'not met'})`;
  console.log(
    `  per-op cost ratio gate / bare lookup, target <= 2x: warm ` +
      `${verdict(warm)}, cold ${verdict(cold)}; commit floor ` +
      `${ratio(floor).toFixed(2)}x`,
  );
}

function benchStart() {
  const dir = mkdtempSync(join(tmpdir(), 'tenantgate-bench-start-'));
  const { DATABASE_URL: _postgres, ...inherited } = process.env;
  const env = {
    ...inherited,
    TENANTGATE_DATA_DIR: join(dir, 'pglite'),
    LOG_LEVEL: 'warn',
  };
  console.log('\n[npm start -- --once] embedded PGlite, fresh data folder');
  const runs: { ms: number; rssMb: number }[] = [];
  for (const run of ['first run', 'second run']) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', '--once'],
      { env, encoding: 'utf8' },
    );
    const ms = Number(/\[(\d+) ms\]/.exec(child.stdout)?.[1] ?? NaN);
    const rssMb = Number(/peak memory (\d+) MB/.exec(child.stdout)?.[1] ?? NaN);
    runs.push({ ms, rssMb });
    console.log(
      `  ${run.padEnd(11)} time to first send summary ${ms} ms, ` +
        `peak memory ${rssMb} MB (exit ${child.status})`,
    );
  }
  const [first, second] = runs;
  if (first && second) {
    console.log(
      `  ratio second / first run: ${(second.ms / first.ms).toFixed(2)}x`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

const url = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
if (url) await withPostgres(url);
else console.log('\n[postgres] skipped: set DATABASE_URL or TEST_DATABASE_URL');

const lite = await PgliteDatabase.open('memory://');
await migrate(lite);
// Raw statements run as the owner; the gate states its role per batch.
// The session is not the app role here, so the gate does not send
// self-scoped single statements on PGlite (it does in production).
await lite.pg.exec('RESET ROLE');
await lite.pg.exec(PROBE_TABLE);

await benchGate(lite, 'pglite', {
  lookup: (id) =>
    lite.pg.query(
      'SELECT id, "companyId", status FROM "IntegrationAccount" WHERE id = $1',
      [id],
    ),
  insert: () =>
    lite.pg.query('INSERT INTO bench_probe (note) VALUES ($1)', ['x']),
});
await lite.close();

if (url && !args.includes('--skip-concurrent')) await benchConcurrent(url);

if (!args.includes('--skip-start')) benchStart();
