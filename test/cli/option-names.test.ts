import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidInput } from '../../src/errors/tenantgate-error.js';
import { messageForOperator } from '../../src/cli/option-names.js';
import { openTestPostgres } from '../support/databases.js';
import { registerSecret } from '../support/known-secrets.js';

/** `flags set`'s options, parsed from `args` as the CLI would. */
function flagsSet(...args: string[]): Command {
  const command = new Command('set')
    .option('--env <env>')
    .option('--reason <text>')
    .option('--company <id>')
    .option('--cohort <percent>')
    .option('--allow <ids>')
    .option('--deny <ids>')
    .option('--config <json>')
    .option('--tax-reporting <who>')
    .option('--limit <n>', 'how many', '50')
    .action(() => undefined);
  command.parse(args, { from: 'user' });
  return command;
}

describe('messageForOperator: the option typed, not the field behind it', () => {
  it('names the option that carries a field under another name', () => {
    const env = invalidInput('environment', 'r', 'environment: bad');
    const company = invalidInput('companyId', 'r', 'companyId: empty');

    expect(messageForOperator(env, flagsSet('--env', 'qa'))).toBe('--env: bad');
    expect(messageForOperator(company, flagsSet('--company', ' '))).toBe(
      '--company: empty',
    );
  });

  it('names a missing option the rule asks for', () => {
    const reason = invalidInput('reason', 'required', 'reason: needed');

    expect(messageForOperator(reason, flagsSet())).toBe('--reason: needed');
  });

  it('names the one of several options the operator gave', () => {
    const cohort = invalidInput('cohort', 'r', 'cohort: enforcement only');

    expect(messageForOperator(cohort, flagsSet('--allow', 'co_a'))).toBe(
      '--allow: enforcement only',
    );
    expect(messageForOperator(cohort, flagsSet('--deny', 'co_a'))).toBe(
      '--deny: enforcement only',
    );
    expect(messageForOperator(cohort, flagsSet())).toBe(
      '--cohort: enforcement only',
    );
  });

  it('names a JSON option and the key inside it', () => {
    const url = invalidInput(
      'providerConfig.baseUrl',
      'r',
      'providerConfig.baseUrl: not a string',
    );
    const tax = invalidInput(
      'providerConfig.taxReporting',
      'r',
      'providerConfig.taxReporting: one of …',
    );

    expect(messageForOperator(url, flagsSet('--config', '{}'))).toBe(
      '--config: baseUrl: not a string',
    );
    expect(messageForOperator(tax, flagsSet('--tax-reporting', 'X'))).toBe(
      '--tax-reporting: one of …',
    );
    expect(messageForOperator(tax, flagsSet('--config', '{}'))).toBe(
      '--config: taxReporting: one of …',
    );
  });

  it('leaves a field no option carries, or a message without it, alone', () => {
    const flag = invalidInput('flag', 'known-flag', 'flag: BOGUS is not …');
    const named = invalidInput('limit', 'r', '--limit: a whole number');
    const other = invalidInput('environment', 'r', 'no such environment');

    expect(messageForOperator(flag, flagsSet())).toBe('flag: BOGUS is not …');
    expect(messageForOperator(named, flagsSet())).toBe(
      '--limit: a whole number',
    );
    expect(messageForOperator(other, flagsSet())).toBe('no such environment');
    expect(messageForOperator(flag, undefined)).toBe('flag: BOGUS is not …');
  });

  it('changes neither the message nor the details of the error', () => {
    const env = invalidInput('environment', 'rule-x', 'environment: bad');

    messageForOperator(env, flagsSet('--env', 'qa'));

    expect(env.message).toBe('environment: bad');
    expect(env.details).toEqual({ field: 'environment', rule: 'rule-x' });
  });
});

const keys = `v1:${randomBytes(32).toString('base64')}`;
registerSecret('vault key list (option-names test)', keys);

interface Run {
  code: number | null;
  err: string;
}

/** Runs the real `tenantgate …` (src/cli/main.ts) in a child process. */
function tenantgate(args: string[], env: Record<string, string>) {
  return new Promise<Run>((resolve, reject) => {
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
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, err }));
    child.stdin.end();
  });
}

const SET = ['flags', 'set', 'FF_ENFORCE_INTEGRATION_ACCOUNT', 'on'];
const OUTBOUND = ['flags', 'set', 'FF_INTEGRATION_ACCOUNT_OUTBOUND', 'on'];
const STAGING = ['--env', 'staging', '--reason', 'test'];

/** Each command, the line it must print (exit 2). */
const CASES: { args: string[]; line: string }[] = [
  {
    args: [...SET, '--env', 'qa', '--reason', 'test'],
    line:
      "error INVALID_INPUT: --env: staging or production (got 'qa')" +
      ' [field environment, rule deployment-environment]',
  },
  {
    args: [...SET, '--env', 'staging'],
    line:
      'error INVALID_INPUT: --reason: every flag change needs a reason' +
      ' [field reason, rule required]',
  },
  {
    args: [...OUTBOUND, ...STAGING, '--allow', 'co_x'],
    line:
      'error INVALID_INPUT: --allow: a cohort, an allow list or a deny' +
      ' list applies only to the enforcement flag' +
      ' FF_ENFORCE_INTEGRATION_ACCOUNT' +
      ' [field cohort, rule enforcement-flag-only]',
  },
  {
    args: [...OUTBOUND, ...STAGING, '--cohort', '5'],
    line:
      'error INVALID_INPUT: --cohort: a cohort, an allow list or a deny' +
      ' list applies only to the enforcement flag' +
      ' FF_ENFORCE_INTEGRATION_ACCOUNT' +
      ' [field cohort, rule enforcement-flag-only]',
  },
  {
    args: [...SET, ...STAGING, '--allow', 'co_x', '--deny', 'co_x'],
    line:
      'error INVALID_INPUT: --allow: a company is both allowed and denied' +
      ' [field allowCompanyIds, rule not-also-denied]',
  },
  {
    args: ['flags', 'history', '--env', 'qa'],
    line:
      "error INVALID_INPUT: --env: staging or production (got 'qa')" +
      ' [field environment, rule deployment-environment]',
  },
  {
    args: ['companies', 'create', '--name', 'A', '--oib', '123'],
    line:
      "error INVALID_INPUT: --oib: '123' is not 11 digits with a valid" +
      ' check digit [field oib, rule iso7064-mod11-10]',
  },
  {
    args: ['companies', 'create', '--name', 'A', '--oib', '12345678903'].concat(
      ['--einvoice-kind', 'BOGUS'],
    ),
    line:
      "error INVALID_INPUT: --einvoice-kind: 'BOGUS' is not an e-invoice" +
      ' kind [field eInvoiceKind, rule enum]',
  },
  {
    args: ['einvoices', 'receive', '--company', 'co_x', '--kind', 'BOGUS'],
    line:
      "error INVALID_INPUT: --kind: 'BOGUS' is not an e-invoice kind" +
      ' [field kind, rule einvoice-kind]',
  },
  {
    args: ['reporting', 'run', '--url', 'not a url'],
    line:
      'error INVALID_INPUT: --url: not an absolute URL (https://…)' +
      ' [field url, rule url]',
  },
];

/**
 * The database each run uses: a PGlite folder made by the first command
 * (commands run one after another: one process at a time opens it), or
 * a PostgreSQL database cloned from the template.
 */
const backends = [
  { name: 'pglite', skip: false },
  { name: 'postgres', skip: !process.env.TEST_DATABASE_URL },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(
    `tenantgate errors found in the database name the option typed [${backend.name}]`,
    { timeout: 120_000 },
    () => {
      let env: Record<string, string> = {};
      let drop: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        if (backend.name === 'pglite') {
          const dir = mkdtempSync(join(tmpdir(), 'tenantgate-options-'));
          env = { TENANTGATE_DATA_DIR: join(dir, 'pglite') };
          return;
        }
        const opened = await openTestPostgres();
        env = { DATABASE_URL: String(opened.db.pool.options.connectionString) };
        drop = opened.drop;
      });
      afterAll(async () => {
        await drop?.();
      });

      it('flags, companies, einvoices and reporting say --env, --reason, --allow, …', async () => {
        for (const { args, line } of CASES) {
          const run = await tenantgate(args, env);

          expect(run.err, args.join(' ')).toBe(`${line}\n`);
          expect(run.code, args.join(' ')).toBe(2);
        }
      });
    },
  );
}
