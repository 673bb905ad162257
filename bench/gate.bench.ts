/**
 * Benchmarks, printed as ratios against a baseline measured in the same
 * run on the same database:
 * 1. the enforcement gate's cost per operation (resolve, tenant check,
 *    vault open, one durable operation event) against a bare
 *    primary-key lookup of the account: cold (every operation resolves,
 *    two round trips) and warm (the route cache holds the resolution,
 *    one round trip: the event); each round trip one self-scoped
 *    autocommit statement where the session is the app role. The vault
 *    is wired as in production: an authoriser opened for an envelope is
 *    handed out again for that exact envelope for up to 2 s; the warm
 *    gate is also measured with a vault that opens every time;
 * 2. `npm start -- --once`: time to the first send summary and peak
 *    memory, first run (fresh data folder) and second run.
 *
 * Usage: npm run bench [-- --iterations 300] [-- --skip-start]
 * PostgreSQL is measured when DATABASE_URL or TEST_DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { createLogger } from '../src/logging/logger.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const args = process.argv.slice(2);
const iterations = Number(valueOf('--iterations') ?? 300);
const warmup = 30;

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

async function benchGate(db: Database, name: string, raw: Raw) {
  const rawLookup = (id: string) => raw.lookup(id);
  const rawInsert = () => raw.insert();
  const logger = createLogger('silent');
  const ring = parseKeyList(`v1:${randomBytes(32).toString('base64')}`);
  // As openTenantGate wires it (TENANTGATE_ROUTE_CACHE_MAX_AGE_MS 2000).
  const vault = new Vault(ring, { openCacheMs: 2000 });
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

  const facts: OperationEvent = {
    environment: 'staging',
    companyId: company.id,
    integrationAccountId: account.id,
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

if (!args.includes('--skip-start')) benchStart();
