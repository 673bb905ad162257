import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPostgres } from '../support/databases.js';
import { CERTS_DIR, P12 } from './support.js';

// On PostgreSQL only: an embedded database would pay initdb per command.
const skip = !process.env.TEST_DATABASE_URL;
const keys = `v1:${randomBytes(32).toString('base64')}`;
const UTF8_PASSWORD = 'Šifra-čćž-2026';
let url = '';
let drop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (skip) return;
  const opened = await openTestPostgres();
  url = String(opened.db.pool.options.connectionString);
  drop = opened.drop;
});
afterAll(async () => {
  await drop?.();
});

/** Runs `tenantgate …` with `input` on standard input. */
function tenantgate(input: string, ...args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args],
    {
      input,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: url,
        TENANTGATE_VAULT_KEYS: keys,
        LOG_LEVEL: 'silent',
      },
    },
  );
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe.skipIf(skip)(
  'tenantgate accounts create-cis',
  { timeout: 90_000 },
  () => {
    it('creates a CIS account from a PKCS#12 and its password on stdin', () => {
      const company = tenantgate(
        '',
        'companies',
        'create',
        '--name',
        'Alpha',
        '--oib',
        P12.a.oib,
        '--fiscalization',
        'on',
      );
      expect(company.code).toBe(0);
      const companyId = company.out.trim().split(/\s+/).at(-1) ?? '';

      const created = tenantgate(
        `${UTF8_PASSWORD}\n`,
        'accounts',
        'create-cis',
        '--company',
        companyId,
        '--env',
        'TEST',
        '--p12',
        `${CERTS_DIR}/tenant-a-utf8-password.p12`,
        '--password-stdin',
        '--json',
      );
      expect(created.err).toBe('');
      expect(JSON.parse(created.out)).toMatchObject({
        kind: 'FISCALIZATION_CIS',
        status: 'ACTIVE',
        certOib: P12.a.oib,
        certSerial: '8193',
      });

      const mismatch = tenantgate(
        `${P12.b.password}\n`,
        'accounts',
        'create-cis',
        '--company',
        companyId,
        '--env',
        'PROD',
        '--p12',
        `${CERTS_DIR}/${P12.b.file}`,
        '--password-stdin',
      );
      expect(mismatch.code).not.toBe(0);
      expect(mismatch.err).toContain('oib-matches-company');
      expect(mismatch.out + mismatch.err).not.toContain(P12.b.password);

      const verify = tenantgate('', 'accounts', 'verify');
      expect(verify.code).toBe(0);
    });
  },
);
