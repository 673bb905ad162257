import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/report.js';
import { migrate } from '../../src/db/migrate.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { insertCompany } from '../support/builders.js';
import { insertEInvoice } from '../support/audit-builders.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SCRIPT = join(ROOT, 'scripts/check-integration-invariants.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the spec's command on an embedded database in `dataDir`. */
function runScript(
  env: Record<string, string>,
  args: string[] = [],
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [SCRIPT, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? Number(error.code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe(
  'npx tsx scripts/check-integration-invariants.ts',
  { timeout: 90_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantgate-invariants-'));
    const brokenDir = join(dir, 'broken');
    let issuedId = '';

    beforeAll(async () => {
      const db = await PgliteDatabase.open(brokenDir);
      await migrate(db);
      const { id: companyId } = await insertCompany(db);
      issuedId = (await insertEInvoice(db, { companyId })).id;
      await db.close();
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('prints exactly the ✅ line and exits 0 on a clean database', async () => {
      const run = await runScript({ TENANTGATE_DATA_DIR: join(dir, 'clean') });

      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('✅ All database invariants satisfied.\n');
      expect(run.code).toBe(0);
    });

    it('prints each violated invariant and exits 1', async () => {
      const run = await runScript({ TENANTGATE_DATA_DIR: brokenDir });

      expect(run.code).toBe(1);
      expect(run.stdout).toContain('einvoice.issued_without_account: 1');
      expect(run.stdout).toContain(`samples: ${issuedId}`);
    });

    it('prints the report as JSON with --json', async () => {
      const run = await runScript({ TENANTGATE_DATA_DIR: brokenDir }, [
        '--json',
      ]);
      const report = JSON.parse(run.stdout) as AuditReport;

      expect(run.code).toBe(1);
      expect(report).toMatchObject({ database: 'pglite', ready: false });
      expect(report.checks).toHaveLength(6);
    });

    it('exits 2 and says why when it cannot run', async () => {
      const run = await runScript({
        TENANTGATE_DATA_DIR: brokenDir,
        TENANTGATE_ACCOUNT_ENV: 'STAGING',
      });

      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('ConfigError (CONFIG_INVALID)');
    });
  },
);
