/**
 * Fiscalizations per second end to end (queue → sign → simulator →
 * stored) on PostgreSQL with two worker processes, against the bound
 * set by the machine's raw RSA signing rate measured in the same run:
 * every fiscalization costs three RSA signatures (the ZKI and the XML
 * signature in the worker, the reply signature in the simulator), so
 * the bound is `signatures per second × cores / 3`. Target: ≥ 40 %.
 * It also prints the single-thread rate of signed RacunZahtjev (the
 * client's two RSA signatures and its XML) against raw RSA / 2.
 *
 * `npm run bench:fiscal [-- --receipts N] [--no-schema]`; needs
 * DATABASE_URL or TEST_DATABASE_URL (an owner that may create a
 * database). `--no-schema` turns off the simulator's per-request XSD
 * check (libxml2-wasm, the schema compiled once per process).
 * `--cpu-prof DIR` profiles workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { AccountService } from '../src/accounts/account-service.js';
import { CompanyService } from '../src/companies/company-service.js';
import { operator } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { PostgresDatabase } from '../src/db/postgres.js';
import { EnforcementGate } from '../src/enforcement/gate.js';
import { CisClient } from '../src/fiscal/cis-client.js';
import { FiscalService } from '../src/fiscal/fiscal-service.js';
import { packPkcs12 } from '../src/fiscal/pkcs12.js';
import { prepareReceipt } from '../src/fiscal/receipt.js';
import { signedRacunZahtjev } from '../src/fiscal/signed-request.js';
import {
  createFiscalQueue,
  enqueueReceipts,
} from '../src/fiscal/fiscal-worker.js';
import type { ReceiptInput } from '../src/fiscal/receipt.js';
import { StaticFlagSource } from '../src/flags/env-flags.js';
import { createLogger } from '../src/logging/logger.js';
import { startCisSimulator } from '../src/sandbox/cis-simulator.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const args = process.argv.slice(2);
const receipts = Number(valueOf('--receipts') ?? 200);
const schema = !args.includes('--no-schema');
/** `--cpu-prof DIR`: V8 CPU profiles of the worker processes. */
const profileDir = valueOf('--cpu-prof');
const CERTS = new URL('../fixtures/cis/certs/', import.meta.url);

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Single-thread RSA PKCS#1 v1.5 SHA-256 signatures per second. */
function rawSignRate(): number {
  const key = createPrivateKey(readFileSync(new URL('tenant-a.key', CERTS)));
  const data = Buffer.from('1234567890315.05.2026 10:20:307POSL121234.50');
  for (let i = 0; i < 50; i++) sign('sha256', data, key);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 1000) {
    sign('sha256', data, key);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Single-thread signed RacunZahtjev per second through a vault signer
 * (ZKI and XML signature: two RSA signatures each), the client's whole
 * CPU cost of a request but the HTTP and the database.
 */
function signedRequestRate(): number {
  const vault = new Vault(
    parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
  );
  const binding = {
    purpose: 'integration-account' as const,
    companyId: 'co_bench',
    accountId: 'acc_bench',
  };
  const signer = vault.signerFor(
    vault.seal(
      packPkcs12(readFileSync(new URL('tenant-a.p12', CERTS)), 'demo-pass-A'),
      binding,
    ),
    binding,
  );
  const receipt = prepareReceipt({
    oib: '12345678903',
    inVatSystem: true,
    issuedAt: new Date('2026-05-15T08:00:00Z'),
    sequenceMark: 'P',
    number: '1',
    premises: 'BENCH1',
    device: '1',
    vat: [{ rate: '25.00', base: '80.00', amount: '20.00' }],
    total: '100.00',
    paymentMethod: 'K',
    operatorOib: '24715430428',
  });
  const once = () => signedRacunZahtjev(receipt, signer, { hash: 'sha256' });
  for (let i = 0; i < 50; i++) once();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 1000) {
    once();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** CPU seconds (user + system) of a process, from /proc; 0 if gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis; utime, stime are
    // the 12th and 13th of them, in clock ticks (100 per second).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** PostgreSQL backends connected to `database`, by their command line. */
function backendsOf(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.includes(` ${database} `)) {
        pids.push(Number(entry));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * CPU seconds so far of the workers, this process (enqueue, polling and
 * the simulator) and the PostgreSQL backends of the bench's database
 * (the server's shared processes, WAL writer included, are not counted).
 */
function cpuSnapshot(workers: ChildProcess[], database: string) {
  const self = process.cpuUsage();
  const sum = (pids: number[]) =>
    pids.reduce((total, pid) => total + cpuSecondsOf(pid), 0);
  const backends = new Map(
    backendsOf(database).map((pid) => [pid, cpuSecondsOf(pid)]),
  );
  return {
    workers: sum(workers.map((w) => w.pid ?? 0)),
    bench: (self.user + self.system) / 1e6,
    backends,
  };
}

/** CPU milliseconds per fiscalization between two snapshots. */
function cpuPerFiscalization(
  before: ReturnType<typeof cpuSnapshot>,
  after: ReturnType<typeof cpuSnapshot>,
  n: number,
) {
  let postgres = 0;
  for (const [pid, seconds] of after.backends) {
    postgres += seconds - (before.backends.get(pid) ?? 0);
  }
  const ms = (seconds: number) => (seconds * 1000) / n;
  const parts = {
    workers: ms(after.workers - before.workers),
    bench: ms(after.bench - before.bench),
    postgres: ms(postgres),
  };
  return { ...parts, total: parts.workers + parts.bench + parts.postgres };
}

async function freshDatabase(url: string) {
  const name = `tenantgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('fiscal-worker.ts', import.meta.url));
  const profile = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', script],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

async function main(url: string) {
  const cores = availableParallelism();
  const rate = rawSignRate();
  const signing = signedRequestRate();
  const bound = (rate * cores) / 3;

  const fresh = await freshDatabase(url);
  const db = new PostgresDatabase(fresh.url, { max: 4 });
  await migrate(db);
  const sim = await startCisSimulator({ schema });
  const keys = `v1:${randomBytes(32).toString('base64')}`;
  const vault = new Vault(parseKeyList(keys));
  const logger = createLogger('warn');
  const company = await new CompanyService({ db, vault, logger }).create({
    name: 'Alpha',
    oib: '12345678903',
    fiscalizationEnabled: true,
  });
  await new AccountService({ db, vault, logger }).createCertificateAccount({
    companyId: company.id,
    environment: 'TEST',
    p12: readFileSync(new URL('tenant-a.p12', CERTS)),
    password: 'demo-pass-A',
  });
  const boss = new PgBoss({ connectionString: fresh.url, max: 2 });
  await boss.start();
  await createFiscalQueue(boss);

  const workers: ChildProcess[] = [];
  const env = {
    FISCAL_BENCH_DB_URL: fresh.url,
    FISCAL_BENCH_VAULT_KEYS: keys,
    FISCAL_BENCH_CIS_URL: sim.url,
  };
  try {
    workers.push(await startWorker(env), await startWorker(env));
    // Unused here; enqueueReceipt only needs db and boss.
    const fiscal = new FiscalService({
      db,
      gate: new EnforcementGate({
        db,
        vault,
        flags: new StaticFlagSource(),
        logger,
        deploymentEnvironment: 'staging',
        accountEnvironment: 'TEST',
      }),
      logger,
      cis: () => new CisClient({ url: sim.url }),
      accountEnvironment: 'TEST',
    });
    const deps = { db, boss, fiscal, logger };
    const base = Date.parse('2026-05-15T08:00:00Z');

    const cpuBefore = cpuSnapshot(workers, fresh.name);
    const start = performance.now();
    // Receipts arrive from tills in batches of 50, 4 batches at once.
    const input = (i: number): ReceiptInput => ({
      oib: '12345678903',
      inVatSystem: true,
      issuedAt: new Date(base + i * 1000),
      sequenceMark: 'P',
      number: String(i + 1),
      premises: 'BENCH1',
      device: '1',
      vat: [{ rate: '25.00', base: '80.00', amount: '20.00' }],
      total: '100.00',
      paymentMethod: 'K',
      operatorOib: '24715430428',
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < receipts) {
          const from = next;
          next = Math.min(receipts, next + 50);
          const batch = [];
          for (let i = from; i < next; i++) batch.push(input(i));
          await enqueueReceipts(deps, company.id, batch);
        }
      }),
    );
    const enqueued = (performance.now() - start) / 1000;
    for (;;) {
      const [row] = await db.transaction(operator, (tx) =>
        tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "FiscalRequest"
            WHERE status = 'SUCCESS'`,
        ),
      );
      if ((row?.n ?? 0) >= receipts) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - start) / 1000;
    const perSecond = receipts / seconds;
    const cpu = cpuPerFiscalization(
      cpuBefore,
      cpuSnapshot(workers, fresh.name),
      receipts,
    );

    console.log(`cores: ${cores}, simulator schema check: ${schema}`);
    console.log(`raw RSA-SHA256 signing: ${rate.toFixed(0)}/s per core`);
    console.log(
      `signed RacunZahtjev (ZKI + XML signature, 2 RSA): ` +
        `${signing.toFixed(0)}/s per core = ` +
        `${((signing / (rate / 2)) * 100).toFixed(0)}% of raw RSA / 2`,
    );
    console.log(`enqueued in ${enqueued.toFixed(2)} s`);
    console.log(
      `bound (3 signatures per fiscalization): ${bound.toFixed(1)}/s`,
    );
    console.log(
      `fiscalizations: ${receipts} in ${seconds.toFixed(2)} s = ` +
        `${perSecond.toFixed(1)}/s (2 worker processes, PostgreSQL)`,
    );
    console.log(
      `ratio: ${((perSecond / bound) * 100).toFixed(1)}% of the bound ` +
        '(target 40%)',
    );
    // Other processes share the cores: CPU per fiscalization says what
    // the run cost whatever the load, and what rate it allows alone.
    const alone = (cores * 1000) / cpu.total;
    console.log(
      `CPU per fiscalization: ${cpu.total.toFixed(2)} ms (workers ` +
        `${cpu.workers.toFixed(2)}, simulator and bench ` +
        `${cpu.bench.toFixed(2)}, PostgreSQL backends ` +
        `${cpu.postgres.toFixed(2)}); on idle cores at most ` +
        `${alone.toFixed(0)}/s = ${((alone / bound) * 100).toFixed(1)}% ` +
        'of the bound',
    );
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    boss.on('error', () => undefined);
    await boss.stop({ graceful: false, wait: true });
    await sim.close();
    await db.close();
    await fresh.drop();
  }
}

const url = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!url) {
  console.log('[postgres] skipped: set DATABASE_URL or TEST_DATABASE_URL');
} else {
  await main(url);
}
