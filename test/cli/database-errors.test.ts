import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/db/data-dir-lock.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { withDatabase } from '../support/global-setup.js';
import { registerSecret } from '../support/known-secrets.js';

const keys = `v1:${randomBytes(32).toString('base64')}`;
registerSecret('vault key list (database-errors test)', keys);
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
registerSecret('password in a database URL (database-errors test)', PASSWORD);

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs the real `tenantgate …` (src/cli/main.ts); an env value of
 * undefined leaves that variable unset.
 */
function tenantgate(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          TENANTGATE_VAULT_KEYS: keys,
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += String(c)));
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end();
  });
}

/** Exit 2 and one line `error CODE: …` on stderr, no stack, no secret. */
function expectOneLine(run: Run, code: string): void {
  expect(run.code, run.err).toBe(2);
  expect(run.err).toMatch(new RegExp(`^error ${code}: [^\\n]+\\n$`));
  expect(run.out + run.err).not.toContain(PASSWORD);
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'tenantgate-db-errors-'));

describe('tenantgate: a database that cannot be opened is one line naming the setting, exit 2', () => {
  it('names DATABASE_URL, the host and the database of a closed port, never the password', async () => {
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:1/tenantgate_x`;

    const run = await tenantgate(['accounts', 'list'], { DATABASE_URL: url });

    expectOneLine(run, 'DATABASE_UNAVAILABLE');
    expect(run.err).toContain(
      'DATABASE_URL: cannot open PostgreSQL at 127.0.0.1:1 (user postgres, ' +
        'database tenantgate_x): nothing listens there (connection refused)',
    );
  });

  it('refuses a DATABASE_URL that is not postgres:// before connecting, never quoting it', async () => {
    const url = `mysql://root:${PASSWORD}@db.example/tenantgate`;

    const run = await tenantgate(['accounts', 'list'], { DATABASE_URL: url });

    expectOneLine(run, 'CONFIG_INVALID');
    expect(run.err).toBe(
      'error CONFIG_INVALID: DATABASE_URL: a postgres:// or postgresql:// ' +
        'URL [field DATABASE_URL, rule postgres-url]\n',
    );
  });

  it('exits 2 when no master key is configured or it is malformed, quoting no key', async () => {
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:1/tenantgate_x`;
    const missing = await tenantgate(['accounts', 'list'], {
      DATABASE_URL: url,
      TENANTGATE_VAULT_KEYS: undefined,
    });
    const short = `v1:${randomBytes(16).toString('base64')}`;
    registerSecret('a 16-byte key (database-errors test)', short);
    const malformed = await tenantgate(['accounts', 'list'], {
      DATABASE_URL: url,
      TENANTGATE_VAULT_KEYS: short,
    });

    expectOneLine(missing, 'VAULT_KEY_MISSING');
    expect(missing.err).toContain('TENANTGATE_VAULT_KEYS');
    expectOneLine(malformed, 'VAULT_CONFIG_INVALID');
    expect(malformed.out + malformed.err).not.toContain(short.slice(3));
  });

  it('names TENANTGATE_DATA_DIR when it is not a folder that can be written', async () => {
    const [devNull, proc] = await Promise.all([
      tenantgate(['accounts', 'list'], { TENANTGATE_DATA_DIR: '/dev/null' }),
      tenantgate(['accounts', 'list'], { TENANTGATE_DATA_DIR: '/proc/nope' }),
    ]);

    for (const run of [devNull, proc]) {
      expectOneLine(run, 'CONFIG_INVALID');
      expect(run.err).toContain('TENANTGATE_DATA_DIR: cannot use ');
    }
  });

  it('refuses the worker on the embedded database before registering or opening anything', async () => {
    const dataDir = join(tempDir(), 'pglite');

    const run = await tenantgate(['worker'], { TENANTGATE_DATA_DIR: dataDir });

    expectOneLine(run, 'CONFIG_INVALID');
    expect(run.err).toContain('DATABASE_URL: the worker needs PostgreSQL');
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe(
  'tenantgate: one process per embedded data folder',
  { timeout: 120_000 },
  () => {
    it('refuses a folder another live process holds, naming the folder and its pid', async () => {
      const dataDir = join(tempDir(), 'pglite');
      const holder = await PgliteDatabase.open(dataDir);
      try {
        const run = await tenantgate(['accounts', 'list'], {
          TENANTGATE_DATA_DIR: dataDir,
        });

        expectOneLine(run, 'DATABASE_BUSY');
        expect(run.err).toContain(
          `TENANTGATE_DATA_DIR: ${dataDir} is in use by process ${process.pid}`,
        );
      } finally {
        await holder.close();
      }
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    });

    it('takes over the lock of a process that is gone and releases it at close', async () => {
      const dataDir = join(tempDir(), 'pglite');
      const gone = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-e', '']);
        child.on('close', () => resolve(child.pid as number));
      });
      const first = await PgliteDatabase.open(dataDir);
      await first.close();
      writeFileSync(join(dataDir, LOCK_FILE), `${gone}\n`);

      const run = await tenantgate(['accounts', 'list'], {
        TENANTGATE_DATA_DIR: dataDir,
      });

      expect(run.code, run.err).toBe(0);
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    });

    it('holds the lock file with its own pid while open', async () => {
      const dataDir = join(tempDir(), 'pglite');
      const db = await PgliteDatabase.open(dataDir);
      try {
        const pid = readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim();
        expect(pid).toBe(String(process.pid));
        await expect(PgliteDatabase.open(dataDir)).rejects.toMatchObject({
          code: 'DATABASE_BUSY',
          details: { dataDir, pid: process.pid },
        });
      } finally {
        await db.close();
      }
    });
  },
);

// On PostgreSQL only: databases are created and dropped per test.
const skip = !process.env.TEST_DATABASE_URL;

describe.skipIf(skip)(
  'tenantgate against PostgreSQL databases that cannot be used [postgres]',
  { timeout: 180_000 },
  () => {
    const base = process.env.TEST_DATABASE_URL as string;
    const admin = new pg.Client({ connectionString: base });
    const created: string[] = [];
    const fresh = async () => {
      const name = `tenantgate_dberr_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      return withDatabase(base, name);
    };

    beforeAll(async () => {
      await admin.connect();
    });
    afterAll(async () => {
      for (const name of created) {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
      await admin.end();
    });

    it('names a database that does not exist', async () => {
      const missing = withDatabase(base, 'tenantgate_no_such_database');

      const run = await tenantgate(['accounts', 'list'], {
        DATABASE_URL: missing,
      });

      expectOneLine(run, 'DATABASE_UNAVAILABLE');
      expect(run.err).toContain(
        'database tenantgate_no_such_database): the database does not exist',
      );
    });

    it("names --staging-database-url, not DATABASE_URL, when staging's database is closed", async () => {
      const url = await fresh();
      const staging = `postgres://u:${PASSWORD}@127.0.0.1:1/staging_x`;

      const run = await tenantgate(
        ['readiness', '--staging-database-url', staging],
        { DATABASE_URL: url },
      );

      expectOneLine(run, 'DATABASE_UNAVAILABLE');
      expect(run.err).toContain(
        '--staging-database-url: cannot open PostgreSQL at 127.0.0.1:1 ' +
          '(user u, database staging_x)',
      );
    });

    it('refuses to migrate a prior-system database before adopt, changing nothing', async () => {
      const url = await fresh();
      const env = { DATABASE_URL: url };
      const legacy = await tenantgate(
        ['demo', 'legacy', '--companies', '2', '--invoices', '1'],
        env,
      );
      expect(legacy.code, legacy.err).toBe(0);

      const [provision, backfill] = await Promise.all([
        tenantgate(['provision'], env),
        tenantgate(['backfill'], env),
      ]);

      for (const run of [provision, backfill]) {
        expectOneLine(run, 'DATABASE_NOT_ADOPTED');
        expect(run.err).toContain('run `tenantgate adopt` first');
      }
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      try {
        const { rows } = await check.query(
          `SELECT to_regclass('"_TenantGateMigration"') AS t`,
        );
        expect(rows).toEqual([{ t: null }]);
      } finally {
        await check.end();
      }

      const adopted = await tenantgate(['adopt'], env);
      expect(adopted.code, adopted.err).toBe(0);
      const after = await tenantgate(['provision'], env);
      expect(after.code, after.err).toBe(0);
    });
  },
);
