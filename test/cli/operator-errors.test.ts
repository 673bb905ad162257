import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operator, type Database } from '../../src/db/database.js';
import { openTestPostgres } from '../support/databases.js';
import { registerSecret } from '../support/known-secrets.js';
import { insertEvents } from '../metrics/ledger-builders.js';
import { baseModel } from '../einvoice/ubl/sample-models.js';
import { completeOib } from '../../src/companies/oib.js';

const keys = `v1:${randomBytes(32).toString('base64')}`;
registerSecret('vault key list (operator-errors test)', keys);
const P12 = 'fixtures/cis/certs/tenant-a.p12';
const MISSING = '/nonexistent/tenantgate-test/missing';
/** Nothing listens here: a command that opens the database fails 1. */
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/unreachable';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the real `tenantgate …` (src/cli/main.ts) in a child process. */
function tenantgate(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: UNREACHABLE,
          TENANTGATE_VAULT_KEYS: keys,
          LOG_LEVEL: 'silent',
          ...options.env,
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += String(c)));
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(options.input ?? '');
  });
}

/** Exit 2, one INVALID_INPUT line naming the field and rule, no stack. */
function expectRefused(run: Run, field: string, rule: string): void {
  expect(run.code, run.err).toBe(2);
  expect(run.err).toMatch(/^error INVALID_INPUT: /);
  expect(run.err).toContain(`[field ${field}, rule ${rule}]`);
  expect(run.err).not.toMatch(/^\s+at /m);
  expect(run.err).not.toContain('INTERNAL');
}

describe('tenantgate: operator mistakes exit 2 with INVALID_INPUT, before any database is opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenantgate-cli-'));
  const secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, 'not-a-real-key-but-long-enough\n');

  it('names the option and the file it cannot read', async () => {
    const [validate, build, send, secret, p12, password] = await Promise.all([
      tenantgate(['ubl', 'validate', MISSING]),
      tenantgate(['ubl', 'build', '--model', MISSING]),
      tenantgate(['einvoices', 'send', '--company', 'co_x', '--file', MISSING]),
      tenantgate([
        'accounts',
        'create',
        '--company',
        'co_x',
        '--kind',
        'EINVOICE_EPOSLOVANJE',
        '--env',
        'TEST',
        '--secret-file',
        MISSING,
      ]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', MISSING, '--password-stdin'],
      ]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12, '--password-file', MISSING],
      ]),
    ]);

    expectRefused(validate, 'file', 'readable-file');
    expect(validate.err).toContain(`file: cannot read ${MISSING} (no such`);
    expectRefused(build, 'model', 'readable-file');
    expectRefused(send, 'file', 'readable-file');
    expect(send.err).toContain(`--file: cannot read ${MISSING}`);
    expectRefused(secret, 'secret-file', 'readable-file');
    expectRefused(p12, 'p12', 'readable-file');
    expectRefused(password, 'password-file', 'readable-file');
  });

  it('names a secret-bearing file option and the reason, never the value given as its path', async () => {
    const value = `sk_live_${randomBytes(8).toString('hex')}`;
    registerSecret('secret given as a path (operator-errors test)', value);

    const [secret, password, folder] = await Promise.all([
      tenantgate([
        ...['accounts', 'create', '--company', 'co_x', '--kind', 'K'],
        ...['--env', 'TEST', '--secret-file', value],
      ]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12, '--password-file', value],
      ]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12, '--password-file', dir],
      ]),
    ]);

    expectRefused(secret, 'secret-file', 'readable-file');
    expect(secret.err).toContain(
      '--secret-file: the file cannot be read (not found)',
    );
    expectRefused(password, 'password-file', 'readable-file');
    expect(password.err).toContain(
      '--password-file: the file cannot be read (not found)',
    );
    for (const run of [secret, password]) {
      expect(run.out + run.err).not.toContain(value);
    }
    expect(folder.err).toContain('(is a directory, not a file)');
    expect(folder.err).not.toContain(dir);
  });

  it('refuses an output file in a folder that does not exist before doing the work', async () => {
    const report = await tenantgate([
      ...['rollout', 'report', '--out', join(MISSING, 'report.md')],
    ]);

    expectRefused(report, 'out', 'writable-file');
    expect(report.err).toContain(`no folder ${MISSING}`);
  });

  it('refuses malformed JSON in --config wherever it is accepted', async () => {
    const [create, createCis, update] = await Promise.all([
      tenantgate([
        ...['accounts', 'create', '--company', 'co_x', '--kind', 'K'],
        ...['--env', 'TEST', '--secret-file', secretFile, '--config', '{bad'],
      ]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12, '--password-stdin', '--config', '[1,2]'],
      ]),
      tenantgate([
        ...['accounts', 'update', 'ia_x', '--company', 'co_x'],
        ...['--config', 'not json'],
      ]),
    ]);

    for (const run of [create, createCis, update]) {
      expectRefused(run, 'config', 'json-object');
      expect(run.err).toContain('--config: not a JSON object');
    }
  });

  it('refuses a numeric option that is not a whole number in range, naming it', async () => {
    const [letters, negative, zero, interval, port] = await Promise.all([
      tenantgate(['einvoices', 'inbox', '--company', 'co_x', '--limit', 'abc']),
      tenantgate(['einvoices', 'inbox', '--company', 'co_x', '--limit', '-5']),
      tenantgate(['backfill', '--batch-size', '0']),
      tenantgate(['rollout', 'watch', '--once', '--interval', '5']),
      tenantgate(['api', '--port', '70000']),
    ]);

    expectRefused(letters, 'limit', 'positive-integer');
    expect(letters.err).toContain(
      "--limit: a whole number, at least 1 (got 'abc')",
    );
    expectRefused(negative, 'limit', 'positive-integer');
    expectRefused(zero, 'batch-size', 'positive-integer');
    expectRefused(interval, 'interval', 'integer-100-or-more');
    expectRefused(port, 'port', 'integer-0-65535');
  });

  it('refuses a secret or password given as an argument, never repeating it', async () => {
    const value = `argv-secret-${randomBytes(8).toString('hex')}`;
    registerSecret(
      'secret passed as an argument (operator-errors test)',
      value,
    );
    const base = ['accounts', 'create', '--company', 'co_x', '--kind', 'K'];

    const [spaced, joined, password] = await Promise.all([
      tenantgate([...base, '--env', 'TEST', '--secret', value]),
      tenantgate([...base, '--env', 'TEST', `--secret=${value}`]),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12, '--password', value],
      ]),
    ]);

    for (const run of [spaced, joined]) {
      expectRefused(run, 'secret', 'not-an-argument');
      expect(run.err).toContain('--secret-file PATH or --secret-stdin');
    }
    expectRefused(password, 'password', 'not-an-argument');
    expect(password.err).toContain('--password-file PATH or --password-stdin');
    for (const run of [spaced, joined, password]) {
      expect(run.out + run.err).not.toContain(value);
    }
  });

  it('refuses companies set without anything to change', async () => {
    const nothing = await tenantgate(['companies', 'set', 'co_x']);

    expectRefused(nothing, 'options', 'one-change');
    expect(nothing.err).toContain(
      'nothing to change; give --einvoicing, --fiscalization or --einvoice-kind',
    );
  });

  it('refuses rollout pause without --reason, naming the option', async () => {
    const paused = await tenantgate(['rollout', 'pause']);

    expectRefused(paused, 'reason', 'required');
    expect(paused.err).toContain('--reason: required to pause the rollout');
  });

  it('refuses an inverted metrics window, naming --since', async () => {
    const inverted = await tenantgate([
      ...['metrics', '--since', '2026-03-01', '--until', '2026-02-01'],
    ]);

    expectRefused(inverted, 'since', 'before-until');
    expect(inverted.err).toContain(
      '--since: 2026-03-01T00:00:00.000Z is after',
    );
  });

  it('names the option the operator typed, not the field behind it', async () => {
    const create = ['accounts', 'create', '--company', 'co_x', '--kind', 'K'];
    const [metrics, worker, secret, password] = await Promise.all([
      tenantgate(['metrics', '--env', 'qa']),
      tenantgate(['worker', '--only', 'bogus']),
      tenantgate([...create, '--env', 'TEST']),
      tenantgate([
        ...['accounts', 'create-cis', '--company', 'co_x', '--env', 'TEST'],
        ...['--p12', P12],
      ]),
    ]);

    expectRefused(metrics, 'environment', 'deployment-environment');
    expect(metrics.err).toContain("--env: staging or production (got 'qa')");
    expectRefused(worker, 'only', 'capability');
    expect(worker.err).toContain('--only: unknown capability bogus');
    expectRefused(secret, 'secret', 'required');
    expect(secret.err).toContain('INVALID_INPUT: --secret-file: give');
    expectRefused(password, 'password', 'required');
    expect(password.err).toContain('INVALID_INPUT: --password-file: give');
  });

  it('refuses a guardrail path that does not exist, naming it', async () => {
    const missing = await tenantgate(['guardrail', MISSING]);

    expectRefused(missing, 'path', 'readable-file');
    expect(missing.err).toContain(`path: cannot read ${MISSING}`);
  });

  it("exits 2 with commander's message on one line on a usage error, 0 on --help", async () => {
    const [unknown, missing, requiredOption, suggested, noCommand, help] =
      await Promise.all([
        tenantgate(['accounts', 'list', '--bogus']),
        tenantgate(['ubl', 'validate']),
        tenantgate(['ubl', 'build']),
        tenantgate(['accounts', 'list', '--jsn']),
        tenantgate(['accounts']),
        tenantgate(['accounts', '--help']),
      ]);

    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      "error: unknown option '--bogus' (see tenantgate accounts list --help)\n",
    );
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      "error: missing required argument 'file'" +
        ' (see tenantgate ubl validate --help)\n',
    );
    expect(requiredOption.code).toBe(2);
    expect(requiredOption.err).toBe(
      "error: required option '--model <file>' not specified" +
        ' (see tenantgate ubl build --help)\n',
    );
    expect(suggested.code).toBe(2);
    expect(suggested.err).toBe(
      "error: unknown option '--jsn' (Did you mean --json?)" +
        ' (see tenantgate accounts list --help)\n',
    );
    expect(noCommand.code).toBe(2);
    expect(noCommand.err).toContain('Usage: tenantgate accounts');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: tenantgate accounts');
  });
});

describe('tenantgate ubl build: standard output carries only the UBL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenantgate-ubl-'));
  const model = baseModel();
  const invalid = join(dir, 'invalid.json');
  // A seller OIB whose check digit is wrong fails HR-BR-53.
  writeFileSync(
    invalid,
    JSON.stringify({
      ...model,
      seller: { ...model.seller, oib: '12345678901' },
    }),
  );

  it('prints the findings of an invalid invoice on standard error', async () => {
    const built = await tenantgate(['ubl', 'build', '--model', invalid]);

    expect(built.code).toBe(1);
    expect(built.out.trim()).toMatch(/^<\?xml[^\n]*<\/Invoice>$/);
    expect(built.err).toContain('HR-BR-53');
  });

  it('does not write an invalid invoice to --out unless --force is given', async () => {
    const refused = join(dir, 'refused.xml');
    const forced = join(dir, 'forced.xml');

    const [plain, force] = await Promise.all([
      tenantgate(['ubl', 'build', '--model', invalid, '--out', refused]),
      tenantgate([
        ...['ubl', 'build', '--model', invalid, '--out', forced, '--force'],
      ]),
    ]);

    expect(plain.code).toBe(1);
    expect(plain.err).toContain('HR-BR-53');
    expect(plain.err).toContain(`${refused} not written`);
    expect(existsSync(refused)).toBe(false);
    expect(force.code).toBe(1);
    expect(force.err).toContain('HR-BR-53');
    expect(readFileSync(forced, 'utf8')).toContain('</Invoice>');
  });
});

// On PostgreSQL only: an embedded database would pay initdb per command.
const skip = !process.env.TEST_DATABASE_URL;

describe.skipIf(skip)(
  'tenantgate against a database [postgres]',
  { timeout: 120_000 },
  () => {
    type Opened = Awaited<ReturnType<typeof openTestPostgres>>;
    let production: Opened | undefined;
    let staging: Opened | undefined;
    const urlOf = (opened: Opened | undefined) =>
      String(opened?.db.pool.options.connectionString);
    const run = (args: string[], env: Record<string, string> = {}) =>
      tenantgate(args, { env: { DATABASE_URL: urlOf(production), ...env } });

    beforeAll(async () => {
      production = await openTestPostgres();
      staging = await openTestPostgres();
    });
    afterAll(async () => {
      await production?.drop();
      await staging?.drop();
    });

    it('fails with COMPANY_NOT_FOUND naming the id instead of printing nothing', async () => {
      const [accounts, inbox] = await Promise.all([
        run(['accounts', 'list', '--company', 'co_nobody']),
        run(['einvoices', 'inbox', '--company', 'co_nobody']),
      ]);

      for (const result of [accounts, inbox]) {
        expect(result.code, result.err).toBe(2);
        expect(result.err).toBe(
          'error COMPANY_NOT_FOUND: No such company: co_nobody\n',
        );
        expect(result.out).toBe('');
      }
    });

    /** Creates a company through the CLI; returns its id. */
    async function company(name: string, ...options: string[]) {
      const oib = completeOib(String(Date.now() * 10 + seq++).slice(-10));
      const created = await run([
        ...['companies', 'create', '--name', name, '--oib', oib],
        ...options,
      ]);
      expect(created.code, created.err).toBe(0);
      return { id: created.out.trim(), oib };
    }
    let seq = 0;

    it('einvoices send of a document whose outcome is unknown points to reconcile, exit 1, and still checks --account', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tenantgate-send-'));
      const seller = await company('Seller', '--einvoicing', 'on');
      const other = await company('Other', '--einvoicing', 'on');
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'not-a-real-key-but-long-enough\n');
      const account = await run([
        ...['accounts', 'create', '--company', other.id],
        ...['--kind', 'EINVOICE_EPOSLOVANJE', '--env', 'TEST'],
        ...['--secret-file', secret],
      ]);
      const model = baseModel();
      const file = join(dir, 'invoice.json');
      writeFileSync(
        file,
        JSON.stringify({
          ...model,
          seller: { ...model.seller, oib: seller.oib },
        }),
      );
      const xml = join(dir, 'invoice.xml');
      const built = await run(['ubl', 'build', '--model', file, '--out', xml]);
      expect(built.code, built.err).toBe(0);
      const send = ['einvoices', 'send', '--company', seller.id, '--file', xml];
      // No account, no legacy key: the first send fails and stays ERROR.
      const first = await run(send);
      expect(first.code).toBe(1);
      await production?.db.transaction(operator, (tx) =>
        tx.query(
          `UPDATE "EInvoice" SET status = 'SEND_UNKNOWN'
            WHERE "companyId" = $1`,
          [seller.id],
        ),
      );

      const [again, unknownAccount, othersAccount] = await Promise.all([
        run(send),
        run([...send, '--account', 'ia_nosuch']),
        run([...send, '--account', account.out.trim()]),
      ]);

      expect(again.code).toBe(1);
      expect(again.out).toContain('SEND_UNKNOWN');
      expect(again.out).not.toContain('already sent');
      expect(again.err).toContain(
        `tenantgate einvoices reconcile --company ${seller.id}`,
      );
      expect(unknownAccount.code).toBe(2);
      expect(unknownAccount.err).toBe(
        'error ACCOUNT_NOT_FOUND: No such integration account: ia_nosuch\n',
      );
      expect(othersAccount.code).toBe(1);
      expect(othersAccount.err).toMatch(/^error TENANT_VIOLATION: /);
    });

    it('flags set refuses an unknown company id in --company, --allow and --deny, naming the option and the id', async () => {
      const known = await company('Flagged');
      const set = [
        ...['flags', 'set', 'FF_ENFORCE_INTEGRATION_ACCOUNT', 'off'],
        ...['--env', 'production', '--reason', 'test'],
      ];

      const [override, allow, deny] = await Promise.all([
        run([...set, '--company', 'nosuch-co']),
        run([...set, '--allow', `${known.id},nosuch-co`]),
        run([...set, '--deny', 'nosuch-co']),
      ]);

      expect(override.err).toBe(
        'error COMPANY_NOT_FOUND: --company: no company nosuch-co' +
          ' [field companyId, rule existing-company]\n',
      );
      expect(allow.err).toBe(
        'error COMPANY_NOT_FOUND: --allow: no company nosuch-co' +
          ' [field allowCompanyIds, rule existing-company]\n',
      );
      expect(deny.err).toBe(
        'error COMPANY_NOT_FOUND: --deny: no company nosuch-co' +
          ' [field denyCompanyIds, rule existing-company]\n',
      );
      for (const result of [override, allow, deny]) {
        expect(result.code).toBe(2);
        expect(result.err).not.toContain('undefined');
      }
    });

    it('rollout status says since when the stage started, not the current time', async () => {
      const started = Date.now();
      const status = await run(['rollout', 'status']);

      expect(status.code, status.err).toBe(0);
      const since = /^stage LEGACY since (\S+);/.exec(status.out)?.[1];
      expect(since).toBeDefined();
      // The rollout tables were installed with the template database,
      // before this test began.
      expect(new Date(since as string).getTime()).toBeLessThan(started);
    });

    it('rollout watch --once prints each criterion with its value, threshold and the decision', async () => {
      await production?.db.transaction(operator, (tx) =>
        tx.query(
          `INSERT INTO "Rollout" (id, stage, "stageStartedAt", "updatedAt",
             "updatedBy")
           VALUES (1, 'PRODUCTION_ENFORCED', now(), now(), 'test')`,
        ),
      );
      const now = Date.now();
      await insertEvents(production?.db as Database, [
        { at: new Date(now - 60_000).toISOString() },
        {
          at: new Date(now - 30_000).toISOString(),
          outcome: 'FAILURE',
          errorName: 'CounterpartUnavailableError',
        },
      ]);

      const watch = await run(['rollout', 'watch', '--once']);

      expect(watch.code, watch.err).toBe(0);
      const lines = watch.out.split('\n');
      expect(lines[0]).toMatch(
        /^watch PRODUCTION_ENFORCED \(production\), window \S+ \.\. \S+$/,
      );
      const row = (name: string) => lines.find((l) => l.startsWith(name));
      expect(row('rollback.tenant_violation')).toMatch(
        /PASS\s+count=0 sampleSize=2\s+count = 0$/,
      );
      expect(row('rollback.integration_required')).toMatch(/PASS\s+count=0/);
      expect(row('rollback.integration_error_rate')).toMatch(
        /INCONCLUSIVE\s+failures=0 sampleSize=2 rate=0\s+rate <= \S+, sampleSize >= \d+$/,
      );
      expect(row('pause.counterpart_error_rate')).toMatch(
        /PASS\s+failures=1 sampleSize=2 rate=0.5\s+rate <= /,
      );
      expect(lines).toContain(
        'decision: none (no rollback criterion failed, no counterpart outage)',
      );
    });

    it("rollout investigate reads the deployment environment's database, or --env's", async () => {
      await insertEvents(staging?.db as Database, [
        {
          at: new Date(Date.now() - 60_000).toISOString(),
          environment: 'staging',
          companyId: 'co_staging_only',
          outcome: 'BLOCKED',
          errorName: 'IntegrationRequiredError',
        },
      ]);
      const args = [
        ...['rollout', 'investigate', '--json'],
        ...['--staging-database-url', urlOf(staging)],
      ];

      const [inStaging, asked] = await Promise.all([
        run(args, { TENANTGATE_DEPLOYMENT_ENV: 'staging' }),
        run([...args, '--env', 'production'], {
          TENANTGATE_DEPLOYMENT_ENV: 'staging',
        }),
      ]);

      expect(inStaging.code, inStaging.err).toBe(0);
      const staged = JSON.parse(inStaging.out) as {
        environment: string;
        failedOperations: { companyId: string }[];
      };
      expect(staged.environment).toBe('staging');
      expect(staged.failedOperations.map((f) => f.companyId)).toEqual([
        'co_staging_only',
      ]);
      const produced = JSON.parse(asked.out) as typeof staged;
      expect(produced.environment).toBe('production');
      expect(produced.failedOperations.map((f) => f.companyId)).not.toContain(
        'co_staging_only',
      );
    });

    it('rollout status shows rollback.verified after a rollback, as text and JSON', async () => {
      const rolledBackAt = new Date(Date.now() - 10_000);
      await production?.db.transaction(operator, (tx) =>
        tx.query(
          `INSERT INTO "Rollout" (id, stage, "heldStage", "stageStartedAt",
             "updatedAt", "updatedBy")
           VALUES (1, 'ROLLED_BACK', 'PRODUCTION_ENFORCED', $1, $1, 'test')
           ON CONFLICT (id) DO UPDATE SET stage = EXCLUDED.stage,
             "heldStage" = EXCLUDED."heldStage",
             "stageStartedAt" = EXCLUDED."stageStartedAt"`,
          [rolledBackAt],
        ),
      );
      await insertEvents(production?.db as Database, [
        {
          at: new Date(rolledBackAt.getTime() + 1_000).toISOString(),
          companyId: 'co_still_blocked',
          path: null,
          outcome: 'BLOCKED',
          errorName: 'IntegrationRequiredError',
        },
      ]);

      const [text, json] = await Promise.all([
        run(['rollout', 'status']),
        run(['rollout', 'status', '--json']),
      ]);

      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(
        /^NOT READY rollback\.verified production: since=\S+ until=\S+ sampleSize=1 v1=0 v2=0 integrationRequired=1 /m,
      );
      expect(text.out).toMatch(
        /^ {2}samples: OperationEvent \d+ \S+ co_still_blocked EINVOICE_SEND no path BLOCKED IntegrationRequiredError$/m,
      );
      const status = JSON.parse(json.out) as {
        rollbackVerification: { id: string; status: string };
      };
      expect(status.rollbackVerification).toMatchObject({
        id: 'rollback.verified',
        status: 'NOT_READY',
      });
    });
  },
);

describe('tenantgate: a reader that stops early (| head)', () => {
  it('ends quietly with exit 0, no EPIPE stack', async () => {
    const run = await new Promise<{ code: number | null; err: string }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'errors'],
          { env: { PATH: process.env.PATH, LOG_LEVEL: 'silent' } },
        );
        let err = '';
        child.stdout.destroy(); // the reader is gone before the first line
        child.stderr.on('data', (c: Buffer) => (err += String(c)));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, err }));
      },
    );

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
  });
});
