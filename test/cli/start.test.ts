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

// The whole demo runs first (about a minute and 1 GB): opt in with
// TENANTGATE_START_TEST=1.
describe.skipIf(!process.env.TENANTGATE_START_TEST)(
  'npm start: the dashboard key lives as long as the server',
  () => {
    it('revokes the key it printed when stopped with SIGINT', async () => {
      const dataDir = freshDataDir();
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
      expect(server.out()).toMatch(/dashboard: \S+#token=tgo_/);

      server.child.kill('SIGINT');
      const stopped = await server.done;

      expect(stopped.code, stopped.err).toBe(0);
      const db = await PgliteDatabase.open(dataDir);
      try {
        const [keys] = await db.batch(operator, [
          {
            sql: `SELECT "revokedAt" IS NOT NULL AS revoked FROM "ApiKey"
                   WHERE label = 'npm start dashboard'`,
          },
        ]);
        expect(keys).toEqual([{ revoked: true }]);
      } finally {
        await db.close();
      }
    }, 300_000);
  },
);
