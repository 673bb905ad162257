import { auditPlatform } from './audit/platform-audit.js';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ApiKeyService } from './api/api-keys.js';
import { apiOptionsFrom, startApi } from './api/server.js';
import { openTenantGate, type TenantGate } from './app.js';
import { runInvariants } from './audit/audit.js';
import { formatAuditReport, formatInvariantsReport } from './audit/format.js';
import { operationSummary, specPathUsage } from './audit/path-usage.js';
import { loadSettings } from './config/settings.js';
import {
  registerDemoKeys,
  seedDemoPlatform,
  sendDemoTraffic,
} from './demo/platform.js';
import { operator } from './db/database.js';
import { exitCodeOf } from './errors/catalogue.js';
import { toTenantGateError } from './errors/tenantgate-error.js';
import { fiscalizeDemoReceipts } from './fiscal/demo.js';
import { startEposlovanjeSimulator } from './sandbox/eposlovanje-simulator.js';
import { startFiskalizacija2Simulator } from './sandbox/fiskalizacija2-simulator.js';
import { reportDemoEInvoices } from './reporting/demo.js';
import { printDueList, printRunSummaries } from './cli/reporting-commands.js';
import { printTable } from './cli/io.js';
import { readinessOf } from './rollout/platform.js';
import { formatReadiness } from './rollout/checklist.js';
import { startMojEracunSimulator } from './sandbox/moj-eracun-simulator.js';
import { formatEInvoiceDemo, runEInvoiceDemo } from './demo/inbound.js';
import { localKeyPath } from './vault/local-key-file.js';

/** Exit codes of `npm start -- --once`. */
const EXIT_READY = 0;
const EXIT_NOT_READY = 3;
const EXIT_USAGE = 2;

/** The label of the operator API key `npm start` prints a link with. */
const DASHBOARD_KEY_LABEL = 'npm start dashboard';

const USAGE = `Usage: npm start [-- --once | --help]

Migrates the embedded database (or DATABASE_URL), creates the demo
platform on the first run, sends its demo traffic through the sandbox
simulators and prints the readiness report. Then it serves the HTTP API
and the operator dashboard until Ctrl-C or SIGTERM; the dashboard link
carries an operator API key that is revoked when the server stops.

Options:
  --once   print the report and exit, without serving the API
  --help   print this help and exit

Exit codes:
  0  --once: everything READY; without --once: stopped by a signal
  1  failure
  2  bad argument or configuration (a setting, an unreachable database,
     the data folder held by another process)
  3  --once: report printed, but NOT READY (the demo is)
`;

/** `--once`, `--help`; anything else is a usage error (exit 2). */
function parseStartArgs(argv: string[]): { once: boolean; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return { once: values.once, help: values.help };
}

/**
 * `npm start`: migrate the embedded database, create the demo platform
 * on the first run, send its demo traffic through the sandbox, print
 * the readiness report, then keep serving until stopped.
 */
async function main(argv: string[]): Promise<number> {
  let args: { once: boolean; help: boolean };
  try {
    args = parseStartArgs(argv);
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    console.error(`error: ${reason.split('\n')[0]} (npm start -- --help)`);
    return EXIT_USAGE;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { once } = args;
  const started = performance.now();
  const settings = loadSettings();
  // Everything opened is closed in reverse order, on success and on
  // error alike, so a failed start exits instead of hanging.
  const opened: { close(): Promise<void> }[] = [];
  try {
    const mojEracun = await startMojEracunSimulator();
    opened.push(mojEracun);
    const simulator = await startEposlovanjeSimulator();
    opened.push(simulator);
    const f2 = await startFiskalizacija2Simulator();
    opened.push(f2);
    const app = await openTenantGate(settings, {
      allowLocalKey: true,
      recordFlags: true,
      register: 'start',
      endpoints: {
        EINVOICE_EPOSLOVANJE: simulator.url,
        EINVOICE_MOJ_ERACUN: mojEracun.url,
      },
    });
    opened.push(app);
    announce(app, simulator.url);

    registerDemoKeys(simulator);
    const created = await seedDemoPlatform(app);
    const traffic = await sendDemoTraffic(app);
    const firstSendMs = Math.round(performance.now() - started);
    console.log(
      `demo: ${created} companies created, ${traffic.attempted} documents ` +
        `submitted (${traffic.sent} sent, ${traffic.failed.length} ` +
        `refused), ${traffic.alreadyDone} already stored from an earlier ` +
        `run [${firstSendMs} ms]`,
    );
    for (const f of traffic.failed) {
      console.log(`  refused: ${f.companyId} ${f.document}: ${f.code}`);
    }
    const einvoices = await runEInvoiceDemo(app, {
      eposlovanje: simulator,
      mojEracun,
    });
    console.log(formatEInvoiceDemo(einvoices));
    await fiscalizeOnce(app);
    await reportOnce(app, f2.url);

    const ready = await printReport(app);
    const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(`\npeak memory ${peakMb} MB`);
    if (once) return ready ? EXIT_READY : EXIT_NOT_READY;

    const api = await startApi(app, apiOptionsFrom(app.settings));
    opened.push(api);
    console.log(`\nAPI at ${api.url} (OpenAPI ${api.url}/openapi.json)`);
    if (!app.settings.databaseUrl) {
      // The embedded demo only: a fresh operator key each start, so the
      // dashboard opens without a setup step. It is revoked when the
      // server stops (pushed after the API, so it closes first, while
      // the database is still open); a crash leaves it live until the
      // next start replaces it.
      const keys = new ApiKeyService({ db: app.db, logger: app.logger });
      const { key, token } = await keys.replaceLabelled(DASHBOARD_KEY_LABEL);
      opened.push({ close: async () => void (await keys.revoke(key.id)) });
      console.log(`dashboard: ${api.url}/dashboard#token=${token}`);
    }
    console.log(`ePoslovanje sandbox at ${simulator.url}; Ctrl-C to stop`);
    await waitForSignal();
    return 0;
  } finally {
    for (const resource of opened.reverse()) {
      await resource.close().catch(() => undefined);
    }
  }
}

/**
 * Fiscalizes the demo receipts on the first run only (V2 with a
 * certificate account, V1 with a legacy company certificate), so a
 * second run adds nothing.
 */
async function fiscalizeOnce(app: TenantGate): Promise<void> {
  const [row] = await app.db.batch(operator, [
    { sql: 'SELECT count(*)::int AS n FROM "FiscalRequest"' },
  ]);
  const existing = (row?.[0] as { n: number } | undefined)?.n ?? 0;
  if (existing > 0) {
    console.log(`fiscal: ${existing} receipts stored from an earlier run`);
    return;
  }
  const receipts = await fiscalizeDemoReceipts(app);
  console.log(`fiscal: ${receipts.length} demo receipts fiscalized with CIS`);
  printTable(
    receipts.map((r) => ({
      company: r.company,
      path: r.path,
      number: r.number,
      jir: r.jir,
      qr: r.qrUrl,
    })),
  );
}

/**
 * Reports the demo e-invoices to the Fiskalizacija 2.0 simulator and
 * prints the due-list (src/reporting/demo.ts).
 */
async function reportOnce(app: TenantGate, url: string): Promise<void> {
  const demo = await reportDemoEInvoices(app, { url });
  const reported = demo.runs.reduce((n, r) => n + r.reported, 0);
  console.log(
    `\n== Fiskalizacija 2.0 reporting (tenantgate reporting due) ==\n` +
      `reported ${reported} documents to the simulator at ${url}` +
      (demo.certificates > 0
        ? ` (${demo.certificates} demo CIS certificates issued)`
        : ''),
  );
  const active = demo.runs.filter((r) => r.requests > 0);
  if (active.length > 0) printRunSummaries(active);
  printDueList(demo.dueList);
}

function announce(app: TenantGate, sandboxUrl: string): void {
  const where = app.settings.databaseUrl
    ? 'PostgreSQL (DATABASE_URL)'
    : `embedded PGlite at ${app.settings.dataDir}`;
  console.log(`TenantGate: database ${where}`);
  console.log(
    `deployment ${app.settings.deploymentEnvironment}, accounts ` +
      `${app.settings.accountEnvironment}, sandbox ${sandboxUrl}`,
  );
  if (app.localKeyFile?.created) {
    console.log(
      `vault: generated a LOCAL master key at ${app.localKeyFile.path} ` +
        '(demo only; losing it loses every stored secret)',
    );
  } else if (app.localKeyFile?.previousLocation) {
    console.log(
      `vault: using the local master key ${app.localKeyFile.path}, where ` +
        'earlier versions kept it for this existing database; move it to ' +
        `${localKeyPath(app.settings.dataDir)} (docs/vault.md)`,
    );
  } else if (app.localKeyFile) {
    console.log(`vault: using the local master key ${app.localKeyFile.path}`);
  }
}

async function printReport(app: TenantGate): Promise<boolean> {
  const audit = await auditPlatform(app);
  console.log('\n== Readiness audit (tenantgate audit) ==');
  console.log(formatAuditReport(audit));

  const invariants = await runInvariants(app.db, {
    accountEnvironment: app.settings.accountEnvironment,
  });
  console.log('\n== Database invariants (tenantgate invariants) ==');
  console.log(formatInvariantsReport(invariants));

  console.log("\n== The spec's V1 vs V2 path usage (last 24 hours) ==");
  printTable(
    (await specPathUsage(app.db)).map((r) => ({
      hour: r.hour.toISOString(),
      v2_path: r.v2_path,
      v1_path: r.v1_path,
    })),
  );

  console.log('\n== Operation events ==');
  printTable(
    (await operationSummary(app.db)) as unknown as Record<string, unknown>[],
  );

  const readiness = await readinessOf(app);
  console.log('\n== Phase 5 checklist (tenantgate readiness) ==');
  console.log(formatReadiness(readiness));
  return audit.ready && readiness.ready;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (thrown) {
  const error = toTenantGateError(thrown);
  console.error(`error ${error.code}: ${error.message}`);
  if (thrown instanceof Error && error.code === 'INTERNAL') {
    console.error(thrown.stack);
  }
  process.exitCode = exitCodeOf(error.code);
}
