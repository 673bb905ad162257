import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresDatabase } from '../../src/db/postgres.js';
import { openTestPostgres } from '../support/databases.js';
import { CERTS_DIR, P12 } from '../fiscal/support.js';
import { insertEInvoice, sampleUbl } from './reporting-support.js';

// On PostgreSQL only: an embedded database would pay initdb per command.
const skip = !process.env.TEST_DATABASE_URL;
const keys = `v1:${randomBytes(32).toString('base64')}`;
let url = '';
let db: PostgresDatabase | undefined;
let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (skip) return;
  const opened = await openTestPostgres();
  db = opened.db;
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

describe.skipIf(skip)('tenantgate reporting', { timeout: 180_000 }, () => {
  it('lists, reports and registers through the CLI', async () => {
    const company = tenantgate(
      '',
      'companies',
      'create',
      '--name',
      'Alpha',
      '--oib',
      P12.a.oib,
      '--einvoicing',
      'on',
      '--einvoice-kind',
      'EINVOICE_EPOSLOVANJE',
    );
    expect(company.code).toBe(0);
    const companyId = company.out.trim().split(/\s+/).at(-1) ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'tg-reporting-'));
    writeFileSync(join(dir, 'pw'), P12.a.password);
    const cis = tenantgate(
      '',
      'accounts',
      'create-cis',
      '--company',
      companyId,
      '--env',
      'TEST',
      '--p12',
      join(CERTS_DIR, P12.a.file),
      '--password-file',
      join(dir, 'pw'),
    );
    expect(cis.code).toBe(0);

    const created = tenantgate(
      'alpha-eposlovanje-key\n',
      'accounts',
      'create',
      '--company',
      companyId,
      '--kind',
      'EINVOICE_EPOSLOVANJE',
      '--env',
      'TEST',
      '--tax-reporting',
      'INTERMEDIARY',
      '--secret-stdin',
      '--json',
    );
    expect(created.code).toBe(0);
    const account = JSON.parse(created.out) as {
      id: string;
      providerConfig: Record<string, unknown>;
    };
    expect(account.providerConfig).toEqual({ taxReporting: 'INTERMEDIARY' });
    const updated = tenantgate(
      '',
      'accounts',
      'update',
      account.id,
      '--company',
      companyId,
      '--tax-reporting',
      'PLATFORM',
    );
    expect(updated.out).toContain('"taxReporting":"PLATFORM"');

    const einvoiceId = await insertEInvoice(db as PostgresDatabase, {
      companyId,
      number: '1-P1-1',
      issueDate: '2026-12-01',
      sellerOib: P12.a.oib,
      integrationAccountId: account.id,
      ublXml: sampleUbl('eRacun_PDV25.xml', P12.a.oib),
    });

    const due = tenantgate('', 'reporting', 'due', '--json');
    expect(due.code).toBe(0);
    const list = JSON.parse(due.out) as {
      totals: { due: number };
      companies: { items: { einvoiceId: string; deadline: string }[] }[];
    };
    expect(list.totals.due).toBe(1);
    expect(list.companies[0]?.items[0]).toMatchObject({
      einvoiceId,
      deadline: '2026-12-01',
    });

    const run = tenantgate('', 'reporting', 'run', '--sandbox');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/requests\s+reported/);

    const paid = tenantgate(
      '',
      'reporting',
      'payment',
      '--company',
      companyId,
      '--einvoice',
      einvoiceId,
      '--paid-on',
      '2026-12-01',
      '--amount',
      '125',
      '--method',
      'T',
    );
    expect(paid.code).toBe(0);
    expect(paid.out).toContain('PENDING due 2027-01-20 reported by PLATFORM');

    // A fresh sandbox has recorded no e-invoice: the payment is refused
    // with S009, and the failure names the record.
    const refused = tenantgate('', 'reporting', 'run', '--sandbox');
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/PAYMENT\s+S009\s+1\s+DEAD/);
  });
});
