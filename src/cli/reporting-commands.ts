import { reportingFor } from '../reporting/app-reporting.js';
import { withApp, type Act } from './session.js';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { TenantGate } from '../app.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { ReportingClient } from '../reporting/client.js';
import {
  ReportingService,
  type DueList,
  type RunSummary,
} from '../reporting/reporting-service.js';
import { startFiskalizacija2Simulator } from '../sandbox/fiskalizacija2-simulator.js';
import { printJson, printTable, readInputBytes } from './io.js';
import { parseJsonObject } from './options.js';

const DEMO_CA = new URL(
  '../../fixtures/cis/certs/demo-ca.crt',
  import.meta.url,
);

interface EndpointOptions {
  url?: string;
  caFile?: string;
  sandbox?: boolean;
}

/**
 * Fiskalizacija 2.0 reporting (issue #9): `reporting due`, `run`,
 * `payment`, `rejection`, and `accounts update` for the per-account
 * `taxReporting` setting.
 */
export function addReportingCommands(program: Command, act: Act): void {
  const reporting = program
    .command('reporting')
    .description('Fiskalizacija 2.0 reports to the Tax Administration');

  reporting
    .command('due')
    .description('reports owed, with deadlines (docs/reporting.md)')
    .option('--company <id>')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const list = await listingService(app).dueList({
            companyId: o.company,
          });
          if (o.json) printJson(list);
          else printDueList(list);
        }),
      ),
    );

  endpointOptions(
    reporting
      .command('run')
      .description('report what is due now (direct, without the queue)')
      .option('--company <id>')
      .option('--json', 'print JSON'),
  ).action(
    act(async (o) =>
      withApp(async (app) =>
        withClient(o, async (client) => {
          const service = reportingFor(app, () => client);
          const asked = { origin: 'user' as const, actor: 'cli' };
          const summaries = o.company
            ? [await service.reportDue(o.company, asked)]
            : await service.reportAllDue(asked);
          if (o.json) printJson(summaries);
          else printRunSummaries(summaries);
          return summaries.some((s) => s.failures.length > 0) ? 1 : 0;
        }),
      ),
    ),
  );

  reporting
    .command('payment')
    .description('register a payment of an outgoing e-invoice')
    .requiredOption('--company <id>')
    .requiredOption('--einvoice <id>')
    .requiredOption('--paid-on <YYYY-MM-DD>')
    .requiredOption('--amount <decimal>')
    .requiredOption('--method <T|O|Z>', 'T account, O settlement, Z other')
    .option('--key <key>', 'tells two equal payments apart')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const registered = await listingService(app).registerPayment({
            companyId: o.company,
            einvoiceId: o.einvoice,
            paidOn: o.paidOn,
            amount: o.amount,
            method: o.method,
            idempotencyKey: o.key,
          });
          if (o.json) printJson(registered);
          else printRegistered(registered);
        }),
      ),
    );

  reporting
    .command('rejection')
    .description('register the rejection of an incoming e-invoice')
    .requiredOption('--company <id>')
    .requiredOption('--einvoice <id>')
    .requiredOption('--rejected-on <YYYY-MM-DD>')
    .requiredOption('--reason-type <N|U|O>', 'N no tax effect, U tax, O other')
    .requiredOption('--reason <text>')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const registered = await listingService(app).registerRejection({
            companyId: o.company,
            einvoiceId: o.einvoice,
            rejectedOn: o.rejectedOn,
            reasonType: o.reasonType,
            reason: o.reason,
          });
          if (o.json) printJson(registered);
          else printRegistered(registered);
        }),
      ),
    );

  const accounts =
    program.commands.find((c) => c.name() === 'accounts') ??
    program.command('accounts');
  accounts
    .command('update <id>')
    .description('change non-secret settings of an integration account')
    .requiredOption('--company <id>')
    .option(
      '--tax-reporting <INTERMEDIARY|PLATFORM>',
      'who reports its e-invoices to the Tax Administration',
    )
    .option('--config <json>', 'settings to merge (null removes a key)')
    .option('--json', 'print JSON')
    .action(
      act(async (id: string, o) => {
        const changes: Record<string, unknown> = {
          ...(o.config ? parseJsonObject(o.config, '--config') : {}),
          ...(o.taxReporting ? { taxReporting: o.taxReporting } : {}),
        };
        if (Object.keys(changes).length === 0) {
          throw invalidInput(
            'config',
            'required',
            'config: give --tax-reporting or --config',
          );
        }
        return withApp(async (app) => {
          const account = await app.accounts.updateProviderConfig(
            o.company,
            id,
            changes,
          );
          if (o.json) printJson(account);
          else
            console.log(
              `${account.id} ${JSON.stringify(account.providerConfig)}`,
            );
        });
      }),
    );
}

/** Prints the due-list: a line per company, then its open reports. */
export function printDueList(list: DueList): void {
  console.log(
    `today ${list.today}: ${list.totals.due} reports due, ` +
      `${list.totals.overdue} overdue, ${list.totals.dueToday} due today`,
  );
  printTable(
    list.companies.map((c) => ({
      company: c.companyId,
      due: c.due,
      overdue: c.overdue,
      today: c.dueToday,
      reported: c.reported,
      intermediary: c.intermediary,
      failed: c.failed,
      dead: c.dead,
    })),
  );
  const items = list.companies.flatMap((c) =>
    c.items.map((i) => ({
      company: c.companyId,
      number: i.number,
      kind: i.kind,
      dir: i.direction,
      status: i.status,
      deadline: i.deadline,
      daysLeft: i.daysLeft,
      overdue: i.overdue ? 'OVERDUE' : '',
      lastError: i.lastError,
    })),
  );
  if (items.length > 0) printTable(items);
}

/** Prints what `reporting run` did, failures with their record number. */
export function printRunSummaries(summaries: readonly RunSummary[]): void {
  printTable(
    summaries.map((s) => ({
      company: s.companyId,
      added: s.added,
      requests: s.requests,
      reported: s.reported,
      alreadyRecorded: s.alreadyRecorded,
      failed: s.failures.length,
    })),
  );
  const failures = summaries.flatMap((s) =>
    s.failures.map((f) => ({
      company: s.companyId,
      number: f.number,
      kind: f.kind,
      code: f.code,
      record: f.recordNumber,
      status: f.status,
      message: f.message,
    })),
  );
  if (failures.length > 0) printTable(failures);
}

function printRegistered(r: {
  reportId: string;
  status: string;
  deadline: string;
  reportedBy: string;
  duplicate: boolean;
}): void {
  console.log(
    `${r.reportId} ${r.status} due ${r.deadline} reported by ${r.reportedBy}` +
      (r.duplicate ? ' (registered before; nothing new stored)' : ''),
  );
}

function endpointOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'the Fiskalizacija 2.0 endpoint').env(
        'TENANTGATE_F2_URL',
      ),
    )
    .addOption(
      new Option('--ca-file <path>', 'CA of its TLS certificate (PEM)').env(
        'TENANTGATE_F2_CA_FILE',
      ),
    )
    .option('--sandbox', 'report to a simulator started for this command');
}

/** Runs `fn` with a client for the endpoint, or for a fresh simulator. */
async function withClient<T>(
  options: EndpointOptions,
  fn: (client: ReportingClient) => Promise<T>,
): Promise<T> {
  if (options.sandbox) {
    const simulator = await startFiskalizacija2Simulator();
    const client = new ReportingClient({
      url: simulator.url,
      ca: readFileSync(DEMO_CA),
    });
    try {
      return await fn(client);
    } finally {
      client.close();
      await simulator.close();
    }
  }
  if (!options.url) {
    throw invalidInput(
      'url',
      'required',
      'url: give --url or TENANTGATE_F2_URL (or --sandbox)',
    );
  }
  // Never quoted: a URL may carry credentials.
  if (!URL.canParse(options.url)) {
    throw invalidInput('url', 'url', 'url: not an absolute URL (https://…)');
  }
  const client = new ReportingClient({
    url: options.url,
    ca: options.caFile
      ? readInputBytes(options.caFile, '--ca-file')
      : undefined,
  });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function listingService(app: TenantGate): ReportingService {
  return reportingFor(app, () => {
    throw new Error('listing and registering send nothing');
  });
}
