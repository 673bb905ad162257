import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Starts the real `npm start` (src/main.ts) on its own data folder. */
function start(
  args: string[],
  dataDir: string,
): { child: ChildProcess; done: Promise<Run>; out: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', ...args],
    {
      env: {
        PATH: process.env.PATH,
        TENANTGATE_DATA_DIR: dataDir,
        TENANTGATE_API_PORT: '0',
        LOG_LEVEL: 'silent',
      },
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += String(c)));
  child.stderr?.on('data', (c: Buffer) => (err += String(c)));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
  return { child, done, out: () => out };
}

const freshDataDir = () =>
  join(mkdtempSync(join(tmpdir(), 'tenantgate-start-')), 'pglite');

describe('npm start: arguments are checked before anything starts', () => {
  it('--help prints what --once does and the exit codes, exits 0 and opens nothing', async () => {
    const dataDir = freshDataDir();

    const help = await start(['--help'], dataDir).done;

    expect(help.code, help.err).toBe(0);
    expect(help.out).toContain('Usage: npm start');
    expect(help.out).toMatch(/--once +print the report and exit/);
    expect(help.out).toMatch(
      /^ {2}3 {2}--once: report printed, but NOT READY/m,
    );
    expect(help.err).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('an unknown argument is one line on stderr, exit 2, no server and no key', async () => {
    const dataDir = freshDataDir();

    const [bogus, positional] = await Promise.all([
      start(['--bogus'], dataDir).done,
      start(['once'], dataDir).done,
    ]);

    expect(bogus.code).toBe(2);
    expect(bogus.err).toBe(
      "error: Unknown option '--bogus' (npm start -- --help)\n",
    );
    expect(bogus.out).toBe('');
    expect(positional.code).toBe(2);
    expect(positional.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(dataDir)).toBe(false);
  });
});

// The whole main job, as a newcomer runs it: about half a minute and
// 1 GB on a quiet machine, so one test covers both runs.
describe('npm start: the main job on a fresh embedded database', () => {
  it('--once sends, fiscalizes, reports and prints NOT READY (exit 3); the second run sends nothing again, serves, and revokes its dashboard key on SIGINT', async () => {
    const dataDir = freshDataDir();

    const first = await start(['--once'], dataDir).done;

    expect(first.code, first.err).toBe(3);
    expect(first.out).toMatch(
      /demo: 4 companies created, 34 documents submitted \(33 sent, 1 refused\), 0 already stored/,
    );
    expect(first.out).toMatch(/fiscal: 6 demo receipts fiscalized with CIS/);
    expect(first.out).toMatch(/reported \d+ documents to the simulator/);
    expect(first.out).toMatch(/^READY {6}row\.account_company_mismatch +0/m);
    expect(first.out).toContain(
      'NOT READY: enforcement must not be enabled yet.',
    );

    const server = start([], dataDir);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (server.out().includes('Ctrl-C to stop')) {
          clearInterval(timer);
          resolve();
        }
      }, 200);
      void server.done.then((r) => {
        clearInterval(timer);
        reject(new Error(`npm start exited ${r.code}: ${r.err}`));
      });
    });
    expect(server.out()).toMatch(
      /demo: 0 companies created, 0 documents submitted \(0 sent, 0 refused\), 34 already stored/,
    );
    expect(server.out()).toMatch(
      /fiscal: 6 receipts stored from an earlier run/,
    );
    expect(server.out()).toMatch(/reported 0 documents to the simulator/);
    expect(server.out()).toMatch(/dashboard: \S+#token=tgo_/);

    server.child.kill('SIGINT');
    const stopped = await server.done;

    expect(stopped.code, stopped.err).toBe(0);
    const db = await PgliteDatabase.open(dataDir);
    try {
      const [keys, einvoices] = await db.batch(operator, [
        {
          sql: `SELECT "revokedAt" IS NOT NULL AS revoked FROM "ApiKey"
                 WHERE label = 'npm start dashboard'`,
        },
        {
          sql: `SELECT count(*)::int AS n FROM "EInvoice"
                 WHERE direction = 'OUTBOUND'`,
        },
      ]);
      expect(keys).toEqual([{ revoked: true }]);
      // 33 sent and 1 refused through ePoslovanje, 4 via Moj-eRačun:
      // the same on both runs.
      expect(einvoices).toEqual([{ n: 38 }]);
    } finally {
      await db.close();
    }
  }, 400_000);
});
