/**
 * One fiscal worker process of bench/fiscal.bench.ts: the same wiring
 * as a deployed worker (gate, vault, CIS client, pg-boss), pointed at
 * the benchmark's database and simulator. Prints `ready`, then works
 * until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import { PostgresDatabase } from '../src/db/postgres.js';
import { EnforcementGate } from '../src/enforcement/gate.js';
import { RouteCache } from '../src/enforcement/route-cache.js';
import { CisClient } from '../src/fiscal/cis-client.js';
import { FiscalService } from '../src/fiscal/fiscal-service.js';
import { startFiscalWorker } from '../src/fiscal/fiscal-worker.js';
import { StaticFlagSource } from '../src/flags/env-flags.js';
import { createLogger } from '../src/logging/logger.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const url = env('FISCAL_BENCH_DB_URL');
const db = new PostgresDatabase(url, { max: 8 });
const boss = new PgBoss({ connectionString: url, max: 4 });
await boss.start();
const logger = createLogger('warn');
const vault = new Vault(parseKeyList(env('FISCAL_BENCH_VAULT_KEYS')));
// As a deployed worker: resolutions cached, invalidated on change.
const routes = await RouteCache.start({ db, logger });
const gate = new EnforcementGate({
  db,
  vault,
  flags: new StaticFlagSource(),
  logger,
  deploymentEnvironment: 'staging',
  accountEnvironment: 'TEST',
  routes,
});
const client = new CisClient({
  url: env('FISCAL_BENCH_CIS_URL'),
  ca: readFileSync(
    new URL('../fixtures/cis/certs/demo-ca.crt', import.meta.url),
  ),
});
const fiscal = new FiscalService({
  db,
  gate,
  logger,
  cis: () => client,
  accountEnvironment: 'TEST',
});
const stop = await startFiscalWorker(
  { db, boss, fiscal, logger },
  {
    concurrency: 2,
    batchSize: Number(process.env.FISCAL_BENCH_BATCH ?? 16),
    pollingIntervalSeconds: 0.5,
  },
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void (async () => {
    await stop();
    await routes.stop();
    await boss.stop({ graceful: false, wait: true });
    client.close();
    await db.close();
    process.exit(0);
  })();
});
