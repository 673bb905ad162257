import { z } from 'zod';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** The flags the enforcement gate reads (DESIGN.md, routing table). */
export const FLAG_NAMES = [
  'FF_INTEGRATION_ACCOUNT_OUTBOUND',
  'FF_INTEGRATION_ACCOUNT_INBOUND',
  'FF_INTEGRATION_ACCOUNT_FISCAL',
  'FF_ENFORCE_INTEGRATION_ACCOUNT',
] as const;
export type FlagName = (typeof FLAG_NAMES)[number];

const flagValue = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'));

// A five-field cron expression of numbers, `*`, `,`, `-` and `/`
// (e.g. `*/5 * * * *`); pg-boss checks the ranges when it schedules.
const cron = z
  .string()
  .trim()
  .regex(/^[\d*,/-]+(\s+[\d*,/-]+){4}$/, 'five cron fields (m h dom mon dow)');

// A PostgreSQL connection URL: node-postgres would read any scheme
// (mysql://…) as PostgreSQL and only fail later, naming the wrong thing.
const postgresUrl = z
  .string()
  .url()
  .refine((v) => /^postgres(ql)?:\/\//i.test(v), {
    message: 'a postgres:// or postgresql:// URL',
    params: { rule: 'postgres-url' },
  });

const settingsSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  TENANTGATE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  TENANTGATE_DEPLOYMENT_ENV: z
    .enum(['staging', 'production'])
    .default('staging'),
  TENANTGATE_ACCOUNT_ENV: z.enum(['TEST', 'PROD']).default('TEST'),
  TENANTGATE_VAULT_KEYS: z.string().optional(),
  TENANTGATE_VAULT_ACTIVE_KEY: z.string().optional(),
  TENANTGATE_VAULT_KEY_FILE: z.string().optional(),
  TENANTGATE_SOFTWARE_ID: z.string().min(1).default('TenantGate-0.1'),
  USER: z.string().optional(),
  TENANTGATE_HTTP_TIMEOUT_MS: z.coerce.number().int().positive().default(15000),
  TENANTGATE_FLAG_POLL_MS: z.coerce.number().int().min(50).default(1000),
  TENANTGATE_ROUTE_CACHE_MAX_AGE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60000)
    .default(2000),
  TENANTGATE_EVENT_RETENTION_DAYS: z.coerce.number().int().min(31).optional(),
  TENANTGATE_ALERT_WEBHOOK_URL: z.string().url().optional(),
  TENANTGATE_CIS_URL: z.string().url().optional(),
  TENANTGATE_CIS_CA_FILE: z.string().min(1).optional(),
  TENANTGATE_F2_URL: z.string().url().optional(),
  TENANTGATE_F2_CA_FILE: z.string().min(1).optional(),
  TENANTGATE_INBOUND_CRON: cron.default('*/5 * * * *'),
  TENANTGATE_REPORTING_CRON: cron.default('*/5 * * * *'),
  TENANTGATE_RECONCILE_CRON: cron.default('*/5 * * * *'),
  TENANTGATE_STATUS_CRON: cron.default('*/15 * * * *'),
  TENANTGATE_HEARTBEAT_MS: z.coerce.number().int().min(100).default(10000),
  TENANTGATE_ROLLOUT_WATCH_MS: z.coerce.number().int().min(100).default(1000),
  TENANTGATE_PROBE_LEGACY_COMPANY: z.string().min(1).optional(),
  TENANTGATE_PROBE_V2_COMPANY: z.string().min(1).optional(),
  STAGING_DATABASE_URL: postgresUrl.optional(),
  PRODUCTION_DATABASE_URL: postgresUrl.optional(),
  TENANTGATE_API_HOST: z.string().min(1).default('127.0.0.1'),
  TENANTGATE_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TENANTGATE_API_RATE_LIMIT: z.coerce.number().int().positive().default(600),
  TENANTGATE_API_BODY_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  TENANTGATE_DEPLOY_HOOK: z
    .enum(['none', 'coolify', 'webhook', 'command'])
    .default('none'),
  COOLIFY_URL: z.string().url().optional(),
  COOLIFY_API_TOKEN: z.string().min(1).optional(),
  COOLIFY_APP_UUID: z.string().min(1).optional(),
  TENANTGATE_DEPLOY_WEBHOOK_URL: z.string().url().optional(),
  TENANTGATE_DEPLOY_COMMAND: z.string().min(1).optional(),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info'),
  FF_INTEGRATION_ACCOUNT_OUTBOUND: flagValue,
  FF_INTEGRATION_ACCOUNT_INBOUND: flagValue,
  FF_INTEGRATION_ACCOUNT_FISCAL: flagValue,
  FF_ENFORCE_INTEGRATION_ACCOUNT: flagValue,
});

export interface Settings {
  /** PostgreSQL URL; unset means the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** PGlite data folder. Default `.data/pglite`; `memory://` for none. */
  dataDir: string;
  /** Where TenantGate itself runs. Default `staging`. */
  deploymentEnvironment: 'staging' | 'production';
  /** Which counterpart endpoints accounts talk to. Default `TEST`. */
  accountEnvironment: 'TEST' | 'PROD';
  vault: {
    keys: string | undefined;
    activeKey: string | undefined;
    keyFile: string | undefined;
  };
  softwareId: string;
  /** The login running a CLI command (`USER`): the default actor. */
  operatorName: string | undefined;
  httpTimeoutMs: number;
  logLevel: z.infer<typeof settingsSchema>['LOG_LEVEL'];
  /** How often a process re-reads the flag store. Default 1000 ms. */
  flagPollMs: number;
  /**
   * The longest the gate serves a resolved route from memory; changes
   * reach it sooner by notification. Default 2000 ms; 0 resolves every
   * operation.
   */
  routeCacheMaxAgeMs: number;
  /**
   * Days of raw operation events to keep; older ones are deleted once
   * rolled up hourly. At least 31 (the longest gate window is 30
   * days). Default unset: keep every raw event.
   */
  eventRetentionDays: number | undefined;
  /**
   * Slack-compatible webhook for P0/P1 operation events. Default unset:
   * no notifier. Holds a token: never logged.
   */
  alertWebhookUrl: string | undefined;
  /**
   * The CIS endpoint the worker fiscalizes with, and the CA file its
   * TLS and reply signatures chain to. Default unset: `tenantgate
   * worker` does not work the fiscal queue.
   */
  cis: { url: string | undefined; caFile: string | undefined };
  /**
   * The Fiskalizacija 2.0 endpoint reports go to, and the CA file its
   * TLS certificate chains to. Default unset: `tenantgate worker` does
   * not run the reporting queue; `reporting run` reads the same two.
   */
  f2: { url: string | undefined; caFile: string | undefined };
  /**
   * The crons (Europe/Zagreb) of the worker's e-invoice schedules:
   * queueing a poll of every inbox (default every 5 minutes), queueing
   * every company with reports due (every 5 minutes), reconciling
   * sends of unknown outcome (every 5 minutes) and polling the status
   * of issued documents (every 15 minutes).
   */
  workerCrons: {
    inbound: string;
    reporting: string;
    reconcile: string;
    status: string;
  };
  /**
   * How often a process heartbeats into the worker registry. Default
   * 10 000 ms; a process silent for three beats is presumed gone.
   */
  heartbeatMs: number;
  /**
   * Between two ticks of the rollout watch (the rollback criteria of an
   * enforcing stage), in `tenantgate worker` and the default of
   * `rollout watch --interval`. Default 1000 ms, at least 100.
   */
  rolloutWatchMs: number;
  /**
   * The probe companies of this environment: one with only a legacy
   * ePoslovanje key, one with an ePoslovanje account. Default unset:
   * no probes (`tenantgate rollout probe` refuses, the worker skips).
   */
  probe: { legacyCompanyId: string; v2CompanyId: string } | undefined;
  /**
   * Each environment's own database for readiness and rollout, where
   * staging and production do not share one. Default unset: both use
   * DATABASE_URL (or the embedded database).
   */
  environmentDatabases: {
    staging: string | undefined;
    production: string | undefined;
  };
  /** `FF_*` values from the environment; undefined when unset. */
  flags: Record<FlagName, boolean | undefined>;
  /** The HTTP API and dashboard. */
  api: {
    /** Default `127.0.0.1`. */
    host: string;
    /** Default 3000; 0 picks a free port. */
    port: number;
    /** Requests per API key per minute. Default 600. */
    rateLimitPerMinute: number;
    /** Largest request body in bytes. Default 2 MiB. */
    bodyLimitBytes: number;
  };
  /**
   * What a rollback runs after switching enforcement off in the flag
   * store. Default `none`. `coolify` needs COOLIFY_URL,
   * COOLIFY_API_TOKEN (never logged) and COOLIFY_APP_UUID (this
   * deployment environment's application); `webhook`
   * TENANTGATE_DEPLOY_WEBHOOK_URL; `command` TENANTGATE_DEPLOY_COMMAND
   * (a file run without a shell).
   */
  deployHook: {
    kind: 'none' | 'coolify' | 'webhook' | 'command';
    coolifyUrl: string | undefined;
    coolifyToken: string | undefined;
    coolifyAppUuid: string | undefined;
    webhookUrl: string | undefined;
    command: string | undefined;
  };
}

/** A refinement's own rule name, else zod's issue code. */
function ruleOf(issue: z.core.$ZodIssue | undefined): string | undefined {
  if (issue?.code === 'custom' && typeof issue.params?.rule === 'string') {
    return issue.params.rule;
  }
  return issue?.code;
}

/**
 * Reads settings from an environment. The only place in TenantGate that
 * looks at `process.env`: everything else receives a Settings object.
 */
export function loadSettings(
  env: Record<string, string | undefined> = process.env,
): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? 'environment');
    throw new TenantGateError(
      'CONFIG_INVALID',
      `${field}: ${issue?.message ?? 'invalid'}`,
      { field, rule: ruleOf(issue) },
    );
  }
  const s = parsed.data;
  return {
    databaseUrl: s.DATABASE_URL,
    dataDir: s.TENANTGATE_DATA_DIR,
    deploymentEnvironment: s.TENANTGATE_DEPLOYMENT_ENV,
    accountEnvironment: s.TENANTGATE_ACCOUNT_ENV,
    vault: {
      keys: s.TENANTGATE_VAULT_KEYS,
      activeKey: s.TENANTGATE_VAULT_ACTIVE_KEY,
      keyFile: s.TENANTGATE_VAULT_KEY_FILE,
    },
    softwareId: s.TENANTGATE_SOFTWARE_ID,
    operatorName: s.USER,
    httpTimeoutMs: s.TENANTGATE_HTTP_TIMEOUT_MS,
    logLevel: s.LOG_LEVEL,
    flagPollMs: s.TENANTGATE_FLAG_POLL_MS,
    routeCacheMaxAgeMs: s.TENANTGATE_ROUTE_CACHE_MAX_AGE_MS,
    eventRetentionDays: s.TENANTGATE_EVENT_RETENTION_DAYS,
    alertWebhookUrl: s.TENANTGATE_ALERT_WEBHOOK_URL,
    cis: { url: s.TENANTGATE_CIS_URL, caFile: s.TENANTGATE_CIS_CA_FILE },
    f2: { url: s.TENANTGATE_F2_URL, caFile: s.TENANTGATE_F2_CA_FILE },
    workerCrons: {
      inbound: s.TENANTGATE_INBOUND_CRON,
      reporting: s.TENANTGATE_REPORTING_CRON,
      reconcile: s.TENANTGATE_RECONCILE_CRON,
      status: s.TENANTGATE_STATUS_CRON,
    },
    heartbeatMs: s.TENANTGATE_HEARTBEAT_MS,
    rolloutWatchMs: s.TENANTGATE_ROLLOUT_WATCH_MS,
    probe:
      s.TENANTGATE_PROBE_LEGACY_COMPANY && s.TENANTGATE_PROBE_V2_COMPANY
        ? {
            legacyCompanyId: s.TENANTGATE_PROBE_LEGACY_COMPANY,
            v2CompanyId: s.TENANTGATE_PROBE_V2_COMPANY,
          }
        : undefined,
    environmentDatabases: {
      staging: s.STAGING_DATABASE_URL,
      production: s.PRODUCTION_DATABASE_URL,
    },
    flags: {
      FF_INTEGRATION_ACCOUNT_OUTBOUND: s.FF_INTEGRATION_ACCOUNT_OUTBOUND,
      FF_INTEGRATION_ACCOUNT_INBOUND: s.FF_INTEGRATION_ACCOUNT_INBOUND,
      FF_INTEGRATION_ACCOUNT_FISCAL: s.FF_INTEGRATION_ACCOUNT_FISCAL,
      FF_ENFORCE_INTEGRATION_ACCOUNT: s.FF_ENFORCE_INTEGRATION_ACCOUNT,
    },
    api: {
      host: s.TENANTGATE_API_HOST,
      port: s.TENANTGATE_API_PORT,
      rateLimitPerMinute: s.TENANTGATE_API_RATE_LIMIT,
      bodyLimitBytes: s.TENANTGATE_API_BODY_LIMIT,
    },
    deployHook: {
      kind: s.TENANTGATE_DEPLOY_HOOK,
      coolifyUrl: s.COOLIFY_URL,
      coolifyToken: s.COOLIFY_API_TOKEN,
      coolifyAppUuid: s.COOLIFY_APP_UUID,
      webhookUrl: s.TENANTGATE_DEPLOY_WEBHOOK_URL,
      command: s.TENANTGATE_DEPLOY_COMMAND,
    },
  };
}
