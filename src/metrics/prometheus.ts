import { Counter, Gauge, Registry } from 'prom-client';
import { FLAG_NAMES } from '../config/settings.js';
import { operator, type Database } from '../db/database.js';
import type { StoreFlagSource } from '../flags/store-flag-source.js';
import { addScheduledCheckGauges } from './scheduling.js';

/** What the registry reads on every scrape. */
export interface PrometheusSources {
  db: Database;
  /** The process's flag source; omitted: no flag gauges. */
  flags?: StoreFlagSource;
}

const LEDGER_LABELS = [
  'environment',
  'operation',
  'path',
  'outcome',
  'error_name',
  'origin',
] as const;

interface TotalRow {
  environment: string;
  operation: string;
  path: string;
  outcome: string;
  errorName: string;
  origin: string;
  wouldBlock: boolean;
  fallback: boolean;
  count: string | number;
}

/**
 * A prom-client registry whose values come from the operation ledger
 * (hourly rollups plus the raw events not rolled up yet, so counters
 * survive retention) and from the flag source, read at scrape time.
 * Labels: environment, operation, path, outcome, error name, origin;
 * never a company. Serve `registry.metrics()` as `/metrics`.
 */
export function createPrometheusRegistry(sources: PrometheusSources): Registry {
  const registry = new Registry();
  // The three ledger counters are collected in parallel on a scrape;
  // they share one query.
  let pending: Promise<TotalRow[]> | undefined;
  const totals = () => {
    pending ??= ledgerTotals(sources.db).finally(() => {
      setTimeout(() => (pending = undefined), 0);
    });
    return pending;
  };
  new Counter({
    name: 'tenantgate_operations_total',
    help: 'Regulated operation attempts, from the operation ledger.',
    labelNames: LEDGER_LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await totals()) {
        this.inc(
          {
            environment: r.environment,
            operation: r.operation,
            origin: r.origin,
            path: r.path === '' ? 'none' : r.path,
            outcome: r.outcome,
            error_name: r.errorName,
          },
          Number(r.count),
        );
      }
    },
  });
  new Counter({
    name: 'tenantgate_would_block_operations_total',
    help: 'V1 operations that enforcement would have refused.',
    labelNames: ['environment', 'operation', 'origin'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await totals()) {
        if (r.wouldBlock) this.inc(shortLabels(r), Number(r.count));
      }
    },
  });
  new Counter({
    name: 'tenantgate_legacy_fallback_operations_total',
    help: 'Operations that fell back to legacy (V1) credentials.',
    labelNames: ['environment', 'operation', 'origin'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await totals()) {
        if (r.fallback) this.inc(shortLabels(r), Number(r.count));
      }
    },
  });
  new Gauge({
    name: 'tenantgate_certificate_expiry_earliest_timestamp_seconds',
    help: 'Earliest certificate notAfter of ACTIVE integration accounts.',
    labelNames: ['kind', 'account_environment'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await certificateExpiry(sources.db)) {
        const labels = { kind: r.kind, account_environment: r.environment };
        this.set(labels, new Date(r.notAfter).getTime() / 1000);
      }
    },
  });
  if (sources.flags) addFlagGauges(registry, sources.flags);
  addScheduledCheckGauges(registry, sources.db);
  return registry;
}

function shortLabels(r: TotalRow) {
  return {
    environment: r.environment,
    operation: r.operation,
    origin: r.origin,
  };
}

function addFlagGauges(registry: Registry, flags: StoreFlagSource): void {
  new Gauge({
    name: 'tenantgate_flag_enabled',
    help: 'Effective environment-wide flag value (1 on, 0 off) and source.',
    labelNames: ['environment', 'flag', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      const values = flags.values();
      for (const flag of FLAG_NAMES) {
        const v = values[flag];
        const labels = { environment: flags.environment, flag };
        this.set({ ...labels, source: v.source }, v.value ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'tenantgate_flag_store_stale',
    help: '1 while the flag store cannot be read (last known values).',
    labelNames: ['environment'],
    registers: [registry],
    collect() {
      const labels = { environment: flags.environment };
      this.set(labels, flags.status().stale ? 1 : 0);
    },
  });
}

async function ledgerTotals(db: Database): Promise<TotalRow[]> {
  return db.transaction(operator, (tx) =>
    tx.query<TotalRow>(
      `WITH state AS (
         SELECT COALESCE(max("rolledUpTo"), '-infinity') AS upto
           FROM "OperationEventRollupState")
       SELECT environment, operation, path, outcome, "errorName", origin,
              "wouldBlock", fallback, sum(count)::bigint AS count
         FROM (
           SELECT environment, operation, path, outcome, "errorName",
                  origin, "wouldBlock", fallback, count
             FROM "OperationEventHourly", state WHERE hour < state.upto
           UNION ALL
           SELECT environment, operation, COALESCE(path, ''), outcome,
                  COALESCE("errorName", ''), origin, "wouldBlock",
                  fallback, count(*)
             FROM "OperationEvent", state WHERE at >= state.upto
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
         ) totals
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
    ),
  );
}

async function certificateExpiry(db: Database) {
  return db.transaction(operator, (tx) =>
    tx.query<{ kind: string; environment: string; notAfter: Date | string }>(
      `SELECT kind, environment, min("certNotAfter") AS "notAfter"
         FROM "IntegrationAccount"
        WHERE status = 'ACTIVE' AND "certNotAfter" IS NOT NULL
        GROUP BY 1, 2`,
    ),
  );
}
