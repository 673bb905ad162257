import type { AuditReport } from '../audit/report.js';
import type { FlagName } from '../config/settings.js';
import type { Database } from '../db/database.js';
import { FlagStore } from '../flags/flag-store.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import { ledgerMetrics, type LedgerMetrics } from '../metrics/metrics.js';

const DAY_MS = 86_400_000;

/** The deployment environments evaluated together. */
export const ROLLOUT_ENVIRONMENTS: readonly DeploymentEnvironment[] = [
  'staging',
  'production',
];

/** The flags that must be on before enforcement (spec, Feature Flags). */
export const PREREQUISITE_FLAGS: readonly FlagName[] = [
  'FF_INTEGRATION_ACCOUNT_OUTBOUND',
  'FF_INTEGRATION_ACCOUNT_INBOUND',
  'FF_INTEGRATION_ACCOUNT_FISCAL',
];

/**
 * `READY`: the prerequisite holds. `NOT_READY`: it does not.
 * `INCONCLUSIVE`: too little data to tell; never counts as a pass.
 */
export type ReadinessStatus = 'READY' | 'NOT_READY' | 'INCONCLUSIVE';

export type CheckSection = 'database' | 'flags' | 'metrics' | 'rollback';

/** One readiness question and its answer. */
export interface ReadinessCheck {
  /** Stable id, e.g. `metrics.production.tenant_violation`. */
  id: string;
  section: CheckSection;
  /** Null for database checks that are not per environment. */
  environment: DeploymentEnvironment | null;
  title: string;
  status: ReadinessStatus;
  /** The figures behind the status. */
  numbers: Record<string, number | string | null>;
  /** The rule in words, e.g. `count = 0 with sampleSize >= 100`. */
  threshold: string;
  /** Offending row ids or error names when not READY. */
  samples: string[];
}

/** Every readiness check of one evaluation. */
export interface ReadinessReport {
  generatedAt: string;
  windowDays: number;
  checks: ReadinessCheck[];
  /** True only when every check is READY. */
  ready: boolean;
}

/** Thresholds of the readiness checks. */
export interface ReadinessOptions {
  /** The evaluation time. Default: now. */
  now?: () => Date;
  /** Days of metrics looked back. Default 7 (the spec). */
  windowDays?: number;
  /** Days each prerequisite flag must have been on. Default 7. */
  flagDays?: number;
  /**
   * Minimum legitimate operations for the error-count checks
   * (TenantViolationError, IntegrationNotFoundError). Default 100.
   */
  minOperations?: number;
  /** Minimum EINVOICE_SEND attempts for its success rate. Default 100. */
  minEInvoiceSends?: number;
  /** Minimum FISCALIZATION attempts for its success rate. Default 100. */
  minFiscalizations?: number;
  /** Largest IntegrationNotFoundError share still READY. Default 0.01. */
  maxNotFoundShare?: number;
  /** Lowest success rate still READY. Default 0.99. */
  minSuccessRate?: number;
}

/** Where each environment's flags and ledger live, and the audits. */
export interface ReadinessSources {
  /** The database of each environment; both may be the same one. */
  databases: Record<DeploymentEnvironment, Database>;
  /**
   * Audit reports of the database state, each labelled (an environment
   * name, or `shared` when both environments use one database).
   */
  audits: { label: string; report: AuditReport }[];
}

/** The defaults of every readiness option. */
export const READINESS_DEFAULTS = {
  windowDays: 7,
  flagDays: 7,
  minOperations: 100,
  minEInvoiceSends: 100,
  minFiscalizations: 100,
  maxNotFoundShare: 0.01,
  minSuccessRate: 0.99,
} as const;

type Thresholds = Required<Omit<ReadinessOptions, 'now'>>;

/**
 * Evaluates every prerequisite of the spec: the database state (one
 * check per audit check), each `FF_INTEGRATION_ACCOUNT_*` flag on for
 * `flagDays` in staging and in production, and the error metrics of the
 * last `windowDays` in each environment. Read-only.
 */
export async function evaluateReadiness(
  sources: ReadinessSources,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const now = (options.now ?? (() => new Date()))();
  const t: Thresholds = { ...READINESS_DEFAULTS, ...dropUndefined(options) };

  const checks: ReadinessCheck[] = [...databaseChecks(sources.audits)];
  for (const env of ROLLOUT_ENVIRONMENTS) {
    checks.push(...(await flagChecks(sources.databases[env], env, now, t)));
  }
  for (const env of ROLLOUT_ENVIRONMENTS) {
    const since = new Date(now.getTime() - t.windowDays * DAY_MS);
    const m = await ledgerMetrics(sources.databases[env], {
      environment: env,
      since,
      until: now,
    });
    checks.push(...metricChecks(m, env, t));
  }

  return {
    generatedAt: now.toISOString(),
    windowDays: t.windowDays,
    checks,
    ready: checks.every((c) => c.status === 'READY'),
  };
}

/** One check per audit check, per audited database. */
export function databaseChecks(
  audits: ReadinessSources['audits'],
): ReadinessCheck[] {
  return audits.flatMap(({ label, report }) =>
    report.checks.map((c) => ({
      id: `database.${label}.${c.id}`,
      section: 'database' as const,
      environment: envOf(label),
      title: c.title,
      status: c.status,
      numbers: { count: c.count },
      threshold: `count <= ${c.threshold}`,
      samples: c.samples,
    })),
  );
}

async function flagChecks(
  db: Database,
  env: DeploymentEnvironment,
  now: Date,
  t: Thresholds,
): Promise<ReadinessCheck[]> {
  const store = new FlagStore(db);
  const checks: ReadinessCheck[] = [];
  for (const flag of PREREQUISITE_FLAGS) {
    const since = await store.onSince(flag, env);
    const days =
      since === null ? null : (now.getTime() - since.getTime()) / DAY_MS;
    checks.push({
      id: `flags.${env}.${flag}`,
      section: 'flags',
      environment: env,
      title: `${flag}=true (active for ${t.flagDays}+ days)`,
      status: days !== null && days >= t.flagDays ? 'READY' : 'NOT_READY',
      numbers: {
        onSince: since?.toISOString() ?? null,
        daysOn: days === null ? null : round(days, 2),
      },
      threshold: `on for every company for >= ${t.flagDays} days`,
      samples: since === null ? ['off now'] : [],
    });
  }
  return checks;
}

/** The spec's error-metric checks for one environment (pure). */
export function metricChecks(
  m: LedgerMetrics,
  env: DeploymentEnvironment,
  t: Thresholds = READINESS_DEFAULTS,
): ReadinessCheck[] {
  const violations =
    m.errorsByName.find((e) => e.errorName === 'TenantViolationError')?.count ??
    0;
  const send = rateOf(m, 'EINVOICE_SEND');
  const fiscal = rateOf(m, 'FISCALIZATION');
  const notFound = m.integrationNotFound;
  const base = { section: 'metrics' as const, environment: env };
  const enough = m.sampleSize >= t.minOperations;

  return [
    {
      ...base,
      id: `metrics.${env}.tenant_violation`,
      title: `TenantViolationError count = 0 in last ${t.windowDays} days`,
      // A violation is a failure whatever the sample size.
      status: violations > 0 ? 'NOT_READY' : enough ? 'READY' : 'INCONCLUSIVE',
      numbers: { count: violations, sampleSize: m.sampleSize },
      threshold: `count = 0, sampleSize >= ${t.minOperations}`,
      samples: violations > 0 ? ['TenantViolationError'] : [],
    },
    {
      ...base,
      id: `metrics.${env}.integration_not_found`,
      title:
        'IntegrationNotFoundError count acceptable ' +
        `(< ${t.maxNotFoundShare * 100}% of operations)`,
      status: !enough
        ? 'INCONCLUSIVE'
        : (notFound.share ?? 0) < t.maxNotFoundShare
          ? 'READY'
          : 'NOT_READY',
      numbers: {
        count: notFound.count,
        sampleSize: notFound.sampleSize,
        share: notFound.share,
      },
      threshold:
        `share < ${t.maxNotFoundShare}, ` + `sampleSize >= ${t.minOperations}`,
      samples: [],
    },
    rateCheck(base, `metrics.${env}.einvoice_send_success`, send, {
      title: `E-invoice send success rate ≥ ${t.minSuccessRate * 100}%`,
      minRate: t.minSuccessRate,
      minSample: t.minEInvoiceSends,
    }),
    rateCheck(base, `metrics.${env}.fiscalization_success`, fiscal, {
      title: `Fiscalization success rate ≥ ${t.minSuccessRate * 100}%`,
      minRate: t.minSuccessRate,
      minSample: t.minFiscalizations,
    }),
  ];
}

function rateCheck(
  base: Pick<ReadinessCheck, 'section' | 'environment'>,
  id: string,
  rate: { successes: number; sampleSize: number; rate: number | null },
  rule: { title: string; minRate: number; minSample: number },
): ReadinessCheck {
  const status: ReadinessStatus =
    rate.sampleSize < rule.minSample || rate.rate === null
      ? 'INCONCLUSIVE'
      : rate.rate >= rule.minRate
        ? 'READY'
        : 'NOT_READY';
  return {
    ...base,
    id,
    title: rule.title,
    status,
    numbers: {
      successes: rate.successes,
      sampleSize: rate.sampleSize,
      rate: rate.rate,
    },
    threshold: `rate >= ${rule.minRate}, sampleSize >= ${rule.minSample}`,
    samples: [],
  };
}

function rateOf(m: LedgerMetrics, operation: string) {
  return (
    m.successRates.find((r) => r.operation === operation) ?? {
      successes: 0,
      sampleSize: 0,
      rate: null,
    }
  );
}

function envOf(label: string): DeploymentEnvironment | null {
  return (ROLLOUT_ENVIRONMENTS as readonly string[]).includes(label)
    ? (label as DeploymentEnvironment)
    : null;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function dropUndefined(options: ReadinessOptions): Partial<Thresholds> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && k !== 'now') out[k] = v;
  }
  return out as Partial<Thresholds>;
}
