import { type Act } from './session.js';
import type { Command } from 'commander';
import { specPathUsage } from '../audit/path-usage.js';
import { loadSettings } from '../config/settings.js';
import type { Database } from '../db/database.js';
import { openDatabase } from '../db/open.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { checkEnv } from '../flags/flag-store.js';
import { ledgerMetrics, type Ratio } from '../metrics/metrics.js';
import { createPrometheusRegistry } from '../metrics/prometheus.js';
import { applyRetention, rollUpHours } from '../metrics/rollup.js';
import { printJson, printTable } from './io.js';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

async function withDb(
  run: (db: Database) => Promise<number | void>,
): Promise<number> {
  const db = await openDatabase(loadSettings());
  try {
    return (await run(db)) ?? 0;
  } finally {
    await db.close();
  }
}

/** `tenantgate metrics [rollup]`. */
export function addMetricsCommands(program: Command, act: Act): void {
  const metrics = program
    .command('metrics')
    .description('ledger metrics over a window, each with its sample size')
    .option('--env <env>', 'staging or production (default: configured)')
    .option('--since <when>', 'a duration back (24h, 7d, 30d) or a date', '7d')
    .option('--until <date>', 'end of the window (default: now)')
    .option('--raw', 'read raw events only, ignoring hourly rollups')
    .option('--json', 'print JSON')
    .action(
      act(async (o: MetricsOptions) => {
        const window = metricsWindow(o);
        return withDb((db) => printMetrics(db, window, o));
      }),
    );

  metrics
    .command('prometheus')
    .description('print the Prometheus text exposition (what /metrics serves)')
    .action(
      act(async () =>
        withDb(async (db) => {
          await rollUpHours(db);
          const registry = createPrometheusRegistry({ db });
          process.stdout.write(await registry.metrics());
        }),
      ),
    );

  metrics
    .command('rollup')
    .description('roll complete hours up; apply the retention setting')
    .option('--from <date>', 'recompute from this hour (after an import)')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withDb(async (db) => {
          const days = loadSettings().eventRetentionDays;
          const from = o.from ? parseDate(o.from, 'from') : undefined;
          const rollup = await rollUpHours(db, { from });
          const retention =
            days === undefined ? null : await applyRetention(db, { days });
          if (o.json) return printJson({ rollup, retention });
          console.log(
            `rolled up ${rollup.hours} hours, up to ` +
              `${rollup.rolledUpTo?.toISOString() ?? '-'}`,
          );
          console.log(
            retention === null
              ? 'retention: keeping every raw event (no setting)'
              : `retention: deleted ${retention.deleted} raw events ` +
                  `before ${retention.cutoff.toISOString()}`,
          );
        }),
      ),
    );
}

interface MetricsOptions {
  env?: string;
  since: string;
  until?: string;
  raw?: boolean;
  json?: boolean;
}

/** The window `--env`, `--since` and `--until` ask for, checked. */
function metricsWindow(o: MetricsOptions) {
  const settings = loadSettings();
  const until = o.until === undefined ? new Date() : parseDate(o.until);
  const since = parseSince(o.since, until);
  if (since.getTime() > until.getTime()) {
    throw invalidInput(
      'since',
      'before-until',
      `--since: ${since.toISOString()} is after --until ` +
        `${until.toISOString()}; the window would be inverted`,
    );
  }
  return {
    environment: checkEnv(o.env ?? settings.deploymentEnvironment),
    since,
    until,
  };
}

async function printMetrics(
  db: Database,
  window: ReturnType<typeof metricsWindow>,
  o: MetricsOptions,
) {
  // Incremental: only the hours completed since the last roll-up.
  if (!o.raw) await rollUpHours(db);
  const m = await ledgerMetrics(db, window, { useRollups: !o.raw });
  const spec = await specPathUsage(db);
  if (o.json) return printJson({ ...m, specPathUsage: spec });

  console.log(
    `window ${window.environment} ${window.since.toISOString()} .. ` +
      `${window.until.toISOString()}: ${m.sampleSize} operations ` +
      `(${m.probes} probes left out; hours with events: ` +
      `${m.rolledUpHours} from hourly rollups, ${m.rawHours} from raw events)`,
  );
  printTable([
    ratioRow('failed or blocked', m.failures),
    ratioRow('legacy path (V1)', m.legacyPath),
    ratioRow('would-block', m.wouldBlock),
    ratioRow('legacy fallback', m.fallback),
    ratioRow('IntegrationNotFoundError', m.integrationNotFound),
  ]);
  console.log('\n== Success rate per operation ==');
  printTable(
    m.successRates.map((r) => ({
      operation: r.operation,
      successes: r.successes,
      sampleSize: r.sampleSize,
      rate: percent(r.rate),
    })),
  );
  console.log('\n== Errors by name ==');
  printTable(m.errorsByName.map((r) => ({ ...r })));
  console.log('\n== V1 / V2 per hour, all operations ==');
  printTable(m.pathByHour.map((r) => ({ ...r })));
  console.log("\n== The spec's V1 vs V2 query (EInvoice, last 24 hours) ==");
  printTable(spec.map((r) => ({ ...r })));
}

function ratioRow(metric: string, r: Ratio) {
  return {
    metric,
    count: r.count,
    sampleSize: r.sampleSize,
    share: percent(r.share),
  };
}

function percent(share: number | null): string {
  return share === null ? 'no data' : `${(share * 100).toFixed(2)}%`;
}

function parseSince(text: string, until: Date): Date {
  const match = /^(\d+)([mhd])$/.exec(text);
  if (!match) return parseDate(text, 'since');
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] ?? 0);
  return new Date(until.getTime() - ms);
}

function parseDate(text: string, field = 'until'): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw invalidInput(
      field,
      'duration-or-date',
      `${field}: a duration like 24h, 7d, 30d or an ISO date`,
    );
  }
  return date;
}
