import { withApp, type Act } from './session.js';
import { auditPlatform } from '../audit/platform-audit.js';
import { Command } from 'commander';
import { runInvariants } from '../audit/audit.js';
import { formatAuditReport, formatInvariantsReport } from '../audit/format.js';
import { exitCodeFor } from '../audit/report.js';
import { migrate } from '../db/migrate.js';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { rotateMasterKey } from '../vault/rotation.js';
import {
  parseOnOff,
  printJson,
  printTable,
  readInputFile,
  readSecret,
} from './io.js';
import { parseJsonObject } from './options.js';
import { addApiCommands } from './api-commands.js';
import { addFlagCommands } from './flags-commands.js';
import { addMetricsCommands } from './metrics-commands.js';
import { addFiscalCommands } from './fiscal-commands.js';
import { addMigrationCommands } from './migration-commands.js';
import { addRolloutCommands } from './rollout-commands.js';
import { addUblCommands } from './ubl-commands.js';
import { addReportingCommands } from './reporting-commands.js';
import { addWorkerCommands } from './worker-commands.js';
import { addEInvoiceLifecycleCommands } from './einvoice-commands.js';

/** The `tenantgate` command tree. Each action returns an exit code. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('tenantgate')
    .description(
      'Tenant-scoped fiscalization and e-invoicing for Croatian platforms',
    )
    // Usage errors reach the entry (exit 2) instead of exiting here;
    // every command below inherits this.
    .exitOverride();
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) =>
      exit(await fn(...args));

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(
      act(async () =>
        withApp(async (app) => {
          const report = await migrate(app.db);
          console.log(
            `migrations applied: ${report.applied.length}` +
              ` (already applied: ${report.alreadyApplied})`,
          );
        }),
      ),
    );

  addCompanyCommands(program, act);
  addAccountCommands(program, act);
  addEInvoiceCommands(program, act);
  addEInvoiceLifecycleCommands(program, act);
  addAuditCommands(program, act);
  addFlagCommands(program, act);
  addMetricsCommands(program, act);
  addMigrationCommands(program, act);
  addFiscalCommands(program, act);
  addApiCommands(program, act);
  addRolloutCommands(program, act);
  addUblCommands(program, act);
  addReportingCommands(program, act);
  addWorkerCommands(program, act);

  program
    .command('errors')
    .description('print the error catalogue')
    .option('--json', 'print JSON')
    .action(
      act(async (opts: { json?: boolean }) => {
        const rows = Object.entries(ERROR_CATALOGUE).map(([code, e]) => ({
          code,
          name: e.name,
          severity: e.severity,
          retryable: e.retryable,
          layer: e.layer,
        }));
        if (opts.json) printJson(rows);
        else printTable(rows);
        return 0;
      }),
    );
  oneLineUsageErrors(program);
  return program;
}

/**
 * A usage error (unknown option, missing argument or option) is one
 * line: commander's message and where the help is, never the help
 * itself, which would bury the message.
 */
function oneLineUsageErrors(command: Command, parents = ''): void {
  const path = `${parents}${command.name()}`;
  command.configureOutput({
    outputError: (message, write) =>
      write(
        `${message.trim().replace(/\s*\n\s*/g, ' ')}` +
          ` (see ${path} --help)\n`,
      ),
  });
  for (const sub of command.commands) oneLineUsageErrors(sub, `${path} `);
}

function addCompanyCommands(program: Command, act: Act) {
  const companies = program
    .command('companies')
    .description('companies (tenants)');

  companies
    .command('create')
    .requiredOption('--name <name>')
    .requiredOption('--oib <oib>')
    .option('--fiscalization <on|off>', 'fiscalization enabled', 'off')
    .option('--einvoicing <on|off>', 'e-invoicing enabled', 'off')
    .option('--einvoice-kind <kind>', 'default intermediary kind')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const company = await app.companies.create({
            name: o.name,
            oib: o.oib,
            fiscalizationEnabled: parseOnOff('fiscalization', o.fiscalization),
            eInvoicingEnabled: parseOnOff('einvoicing', o.einvoicing),
            eInvoiceKind: o.einvoiceKind ?? null,
          });
          if (o.json) printJson(company);
          else console.log(company.id);
        }),
      ),
    );

  companies
    .command('list')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const rows = await app.companies.list();
          if (o.json) return printJson(rows);
          printTable(
            rows.map((c) => ({
              id: c.id,
              oib: c.oib,
              name: c.name,
              fiscalization: c.fiscalizationEnabled,
              einvoicing: c.eInvoicingEnabled,
              einvoiceKind: c.eInvoiceKind,
              legacyKey: c.hasLegacyEInvoiceKey,
            })),
          );
        }),
      ),
    );

  companies
    .command('show <id>')
    .action(
      act(async (id: string) =>
        withApp(async (app) => printJson(await app.companies.show(id))),
      ),
    );

  companies
    .command('set <id>')
    .description('switch fiscalization / e-invoicing on or off')
    .option('--fiscalization <on|off>')
    .option('--einvoicing <on|off>')
    .option('--einvoice-kind <kind>', 'default intermediary kind')
    .action(
      act(async (id: string, o) => {
        if (
          o.fiscalization === undefined &&
          o.einvoicing === undefined &&
          o.einvoiceKind === undefined
        ) {
          throw invalidInput(
            'options',
            'one-change',
            'nothing to change; give --einvoicing, --fiscalization or ' +
              '--einvoice-kind',
          );
        }
        return withApp(async (app) => {
          const company = await app.companies.setEntitlements(id, {
            fiscalizationEnabled:
              o.fiscalization === undefined
                ? undefined
                : parseOnOff('fiscalization', o.fiscalization),
            eInvoicingEnabled:
              o.einvoicing === undefined
                ? undefined
                : parseOnOff('einvoicing', o.einvoicing),
            eInvoiceKind: o.einvoiceKind,
          });
          printJson(company);
        });
      }),
    );

  companies
    .command('legacy-key <id>')
    .description('store a legacy (V1) e-invoice API key on the company')
    .requiredOption('--provider <provider>', 'eposlovanje, fina, ...')
    .option('--secret-file <path>')
    .option('--secret-stdin')
    .action(
      act(async (id: string, o) => {
        const secret = (await readSecret(o)).trim();
        return withApp(async (app) => {
          await app.companies.setLegacyEInvoiceKey(id, o.provider, secret);
          console.log('legacy key stored');
        });
      }),
    );
}

function addAccountCommands(program: Command, act: Act) {
  const accounts = program
    .command('accounts')
    .description('integration accounts (secrets are write-only)');

  accounts
    .command('create')
    .requiredOption('--company <id>')
    .requiredOption('--kind <kind>')
    .requiredOption('--env <TEST|PROD>')
    .option('--config <json>', 'non-secret provider config as JSON')
    .option(
      '--tax-reporting <INTERMEDIARY|PLATFORM>',
      'who reports its e-invoices to the Tax Administration (docs/reporting.md)',
    )
    .option('--secret-file <path>')
    .option('--secret-stdin')
    .option('--json', 'print JSON')
    .action(
      act(async (o) => {
        const providerConfig = {
          ...(o.config ? parseJsonObject(o.config, '--config') : {}),
          ...(o.taxReporting ? { taxReporting: o.taxReporting } : {}),
        };
        const secret = await readSecret(o);
        return withApp(async (app) => {
          const account = await app.accounts.create({
            companyId: o.company,
            kind: o.kind,
            environment: o.env,
            secret,
            providerConfig,
          });
          if (o.json) printJson(account);
          else console.log(account.id);
        });
      }),
    );

  accounts
    .command('list')
    .option('--company <id>')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const rows = await app.accounts.list(o.company);
          if (o.json) return printJson(rows);
          printTable(
            rows.map((a) => ({
              id: a.id,
              company: a.companyId,
              kind: a.kind,
              env: a.environment,
              status: a.status,
              keyVersion: a.keyVersion,
              verifiedAt: a.secretVerifiedAt,
              lastUsedAt: a.lastUsedAt,
            })),
          );
        }),
      ),
    );

  accounts
    .command('show <id>')
    .requiredOption('--company <id>')
    .action(
      act(async (id: string, o) =>
        withApp(async (app) =>
          printJson(await app.accounts.show(o.company, id)),
        ),
      ),
    );

  accounts
    .command('rotate <id>')
    .description('replace the secret')
    .requiredOption('--company <id>')
    .option('--secret-file <path>')
    .option('--secret-stdin')
    .action(
      act(async (id: string, o) => {
        const secret = await readSecret(o);
        return withApp(async (app) => {
          const account = await app.accounts.rotate(o.company, id, secret);
          console.log(`rotated ${account.id} at ${account.rotatedAt}`);
        });
      }),
    );

  accounts
    .command('disable <id>')
    .requiredOption('--company <id>')
    .requiredOption('--reason <text>')
    .action(
      act(async (id: string, o) =>
        withApp(async (app) => {
          const a = await app.accounts.disable(o.company, id, o.reason);
          console.log(`${a.id} ${a.status}`);
        }),
      ),
    );

  accounts
    .command('enable <id>')
    .requiredOption('--company <id>')
    .action(
      act(async (id: string, o) =>
        withApp(async (app) => {
          const a = await app.accounts.enable(o.company, id);
          console.log(`${a.id} ${a.status}`);
        }),
      ),
    );

  accounts
    .command('verify')
    .description('open every secret and record when it last opened')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await app.accounts.verifyAll();
          if (o.json) printJson(report);
          else {
            console.log(
              `checked ${report.checked}, opened ${report.opened}, ` +
                `failed ${report.failed.length}`,
            );
            if (report.failed.length) printTable(report.failed);
          }
          return report.failed.length === 0 ? 0 : 1;
        }),
      ),
    );

  program
    .command('vault')
    .description('master keys')
    .command('rotate')
    .description('re-wrap every secret with the active master key')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await rotateMasterKey(app.db, app.vault, {});
          if (o.json) printJson(report);
          else console.log(JSON.stringify(report));
          return report.failed.length === 0 ? 0 : 1;
        }),
      ),
    );
}

function addEInvoiceCommands(program: Command, act: Act) {
  const einvoices = program.command('einvoices').description('e-invoices');
  einvoices
    .command('send')
    .requiredOption('--company <id>')
    .requiredOption('--file <path>', 'UBL 2.1 Invoice or CreditNote')
    .option('--idempotency-key <key>')
    .option('--account <id>', 'send through this integration account')
    .option('--json', 'print JSON')
    .action(
      act(async (o) => {
        const ublXml = readInputFile(o.file, '--file');
        return withApp(async (app) => {
          const outcome = await app.outbound.send({
            companyId: o.company,
            ublXml,
            idempotencyKey: o.idempotencyKey,
            accountId: o.account,
            origin: 'user',
            actor: 'cli',
          });
          const i = outcome.invoice;
          const unknown = outcome.duplicate && i.status === 'SEND_UNKNOWN';
          if (o.json) printJson(outcome);
          else {
            console.log(
              `${i.id} ${i.status} providerRef=${i.providerRef ?? '-'}` +
                ` account=${i.integrationAccountId ?? '-'}` +
                (outcome.duplicate ? ` (${storedState(i.status)})` : ''),
            );
          }
          if (unknown) {
            console.error(
              'the outcome of the earlier send is unknown; resolve it with ' +
                `\`tenantgate einvoices reconcile --company ${o.company}\`` +
                ' (it resends only what the intermediary did not receive)',
            );
          }
          return unknown ? 1 : 0;
        });
      }),
    );
  einvoices
    .command('show <id>')
    .requiredOption('--company <id>')
    .action(
      act(async (id: string, o) =>
        withApp(async (app) =>
          printJson(await app.outbound.find(o.company, id)),
        ),
      ),
    );
}

/** What a send found stored under the key: nothing was sent this time. */
function storedState(status: string): string {
  if (status === 'SEND_UNKNOWN') {
    return 'outcome of the earlier send unknown; nothing sent again';
  }
  return 'already sent; nothing sent again';
}

function addAuditCommands(program: Command, act: Act) {
  program
    .command('audit')
    .description("the spec's readiness checks, READY or NOT READY")
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await auditPlatform(app);
          if (o.json) printJson(report);
          else console.log(formatAuditReport(report));
          return exitCodeFor(report);
        }),
      ),
    );

  program
    .command('invariants')
    .description('database invariants')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const report = await runInvariants(app.db, {
            accountEnvironment: app.settings.accountEnvironment,
          });
          if (o.json) printJson(report);
          else console.log(formatInvariantsReport(report));
          return exitCodeFor(report);
        }),
      ),
    );
}
