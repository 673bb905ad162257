import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { OPERATIONS, type Operation } from '../accounts/kinds.js';
import { FLAG_NAMES, type FlagName } from '../config/settings.js';
import { operator, type Database } from '../db/database.js';
import type { FlagSource } from '../flags/env-flags.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import { StoreFlagSource } from '../flags/store-flag-source.js';
import type { Logger } from '../logging/logger.js';
import type { PathsUsed, PathsUsedSnapshot } from './paths-used.js';

/** What kind of TenantGate process registered. */
export type ProcessRole = 'api' | 'worker' | 'start' | 'cli';

/** A flag's effective environment-wide value in a process. */
export interface ProcessFlag {
  value: boolean;
  /** `store`, `env`, `default`, ... or `unknown` for a plain source. */
  source: string;
}

/** One process in the registry. */
export interface Registration {
  id: string;
  role: ProcessRole;
  environment: DeploymentEnvironment;
  host: string;
  pid: number;
  version: string;
  flags: Record<FlagName, ProcessFlag>;
  /** The path its flags give each operation (for companies with accounts). */
  paths: Record<Operation, 'V1' | 'V2'>;
  /** The path each operation it ran last took, and when (none run: {}). */
  pathsUsed: PathsUsedSnapshot;
  startedAt: Date;
  heartbeatAt: Date;
  stoppedAt: Date | null;
}

/** A registration as judged at some instant. */
export interface RegistrationState extends Registration {
  /** Heartbeat within the timeout and not stopped. */
  live: boolean;
}

/** The migration flag of each operation (DESIGN.md routing table). */
const OPERATION_FLAG: Record<Operation, FlagName> = {
  EINVOICE_SEND: 'FF_INTEGRATION_ACCOUNT_OUTBOUND',
  EINVOICE_RECEIVE: 'FF_INTEGRATION_ACCOUNT_INBOUND',
  FISCALIZATION: 'FF_INTEGRATION_ACCOUNT_FISCAL',
  EINVOICE_REPORT: 'FF_INTEGRATION_ACCOUNT_FISCAL',
};

/**
 * The path each operation takes under `flags`: V2 when enforcement or
 * the operation's migration flag is on, else the legacy path first.
 */
export function pathsFor(
  flags: Record<FlagName, ProcessFlag>,
): Record<Operation, 'V1' | 'V2'> {
  const enforce = flags.FF_ENFORCE_INTEGRATION_ACCOUNT.value;
  return Object.fromEntries(
    OPERATIONS.map((op) => [
      op,
      enforce || flags[OPERATION_FLAG[op]].value ? 'V2' : 'V1',
    ]),
  ) as Record<Operation, 'V1' | 'V2'>;
}

/** The environment-wide values a flag source gives right now. */
export function flagsOf(
  source: FlagSource,
  environment: DeploymentEnvironment,
): Record<FlagName, ProcessFlag> {
  if (source instanceof StoreFlagSource) return source.values();
  return Object.fromEntries(
    FLAG_NAMES.map((f) => [
      f,
      { value: source.isEnabled(f, { environment }), source: 'unknown' },
    ]),
  ) as Record<FlagName, ProcessFlag>;
}

interface RegistrationRow {
  id: string;
  role: ProcessRole;
  environment: DeploymentEnvironment;
  host: string;
  pid: number;
  version: string;
  flags: Record<FlagName, ProcessFlag> | string;
  paths: Record<Operation, 'V1' | 'V2'> | string;
  pathsUsed:
    Partial<Record<Operation, { path: 'V1' | 'V2'; at: string }>> | string;
  startedAt: Date | string;
  heartbeatAt: Date | string;
  stoppedAt: Date | string | null;
}

/** The registry of running TenantGate processes ("WorkerRegistration"). */
export class WorkerRegistry {
  constructor(private readonly db: Database) {}

  /**
   * Inserts or refreshes a process's row: its flags, paths, the paths
   * it last used (default none) and beat.
   */
  async beat(
    r: Omit<Registration, 'stoppedAt' | 'pathsUsed'> & {
      pathsUsed?: PathsUsedSnapshot;
    },
  ): Promise<void> {
    await this.db.transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "WorkerRegistration" (id, role, environment, host, pid,
           version, flags, paths, "pathsUsed", "startedAt", "heartbeatAt")
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb,
           $10, $11)
         ON CONFLICT (id) DO UPDATE SET flags = EXCLUDED.flags,
           paths = EXCLUDED.paths, "pathsUsed" = EXCLUDED."pathsUsed",
           "heartbeatAt" = EXCLUDED."heartbeatAt"`,
        [
          r.id,
          r.role,
          r.environment,
          r.host,
          r.pid,
          r.version,
          JSON.stringify(r.flags),
          JSON.stringify(r.paths),
          JSON.stringify(r.pathsUsed ?? {}),
          r.startedAt,
          r.heartbeatAt,
        ],
      ),
    );
  }

  /** Marks a process as stopped (a clean shutdown). */
  async stopped(id: string, at: Date): Promise<void> {
    await this.db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "WorkerRegistration" SET "stoppedAt" = $2 WHERE id = $1`,
        [id, at],
      ),
    );
  }

  /**
   * The processes of `environment` seen within the last day, each
   * judged live when it beat within `staleMs` of `now` and did not stop.
   */
  async list(
    environment: DeploymentEnvironment,
    now: Date,
    staleMs: number,
  ): Promise<RegistrationState[]> {
    const rows = await this.db.transaction(operator, (tx) =>
      tx.query<RegistrationRow>(
        `SELECT * FROM "WorkerRegistration"
          WHERE environment = $1 AND "heartbeatAt" > $2
          ORDER BY "startedAt", id`,
        [environment, new Date(now.getTime() - 86_400_000)],
      ),
    );
    return rows.map((row) => {
      const r = fromRow(row);
      const fresh = now.getTime() - r.heartbeatAt.getTime() <= staleMs;
      return { ...r, live: fresh && r.stoppedAt === null };
    });
  }
}

/** How one process registers. */
export interface HeartbeatOptions {
  db: Database;
  logger: Logger;
  role: ProcessRole;
  environment: DeploymentEnvironment;
  flags: FlagSource;
  /** The paths the process's gate last used; written at each beat. */
  pathsUsed?: PathsUsed;
  /** Between beats. Default 10 000 ms (TENANTGATE_HEARTBEAT_MS). */
  intervalMs?: number;
  now?: () => Date;
}

/** A registered process's handle. */
export interface Heartbeat {
  id: string;
  /** Beats now (also after a flag change). */
  beat(): Promise<void>;
  /** Stops beating and marks the row stopped. */
  stop(): Promise<void>;
}

/**
 * Registers this process (host, pid, version, environment, its
 * effective flag values and so its V1/V2 paths, and the path each
 * operation last took in its gate) and beats every
 * `intervalMs`, and at once when a stored flag changes. A failed beat
 * is logged and retried on the next tick; it never stops the process.
 */
export async function startHeartbeat(o: HeartbeatOptions): Promise<Heartbeat> {
  const registry = new WorkerRegistry(o.db);
  const now = o.now ?? (() => new Date());
  const id = `wk_${randomUUID()}`;
  const startedAt = now();
  const identity = {
    id,
    role: o.role,
    environment: o.environment,
    host: hostname(),
    pid: process.pid,
    version: VERSION,
    startedAt,
  };
  const beat = async () => {
    const flags = flagsOf(o.flags, o.environment);
    try {
      await registry.beat({
        ...identity,
        flags,
        paths: pathsFor(flags),
        pathsUsed: o.pathsUsed?.snapshot() ?? {},
        heartbeatAt: now(),
      });
    } catch (error) {
      o.logger.warn({
        event: 'worker.heartbeat_failed',
        workerId: id,
        reason: error instanceof Error ? error.message : 'unknown',
      });
    }
  };
  await beat();
  o.logger.info({
    event: 'worker.registered',
    workerId: id,
    role: o.role,
    environment: o.environment,
  });
  const timer = setInterval(() => void beat(), o.intervalMs ?? 10_000);
  timer.unref();
  const off =
    o.flags instanceof StoreFlagSource
      ? o.flags.onChange(() => void beat())
      : () => undefined;
  return {
    id,
    beat,
    stop: async () => {
      clearInterval(timer);
      off();
      await registry.stopped(id, now());
    },
  };
}

/** The package version (package.json), read once. */
export const VERSION: string = (() => {
  try {
    const text = readFileSync(
      new URL('../../package.json', import.meta.url),
      'utf8',
    );
    return String((JSON.parse(text) as { version?: string }).version);
  } catch {
    return 'unknown';
  }
})();

function fromRow(row: RegistrationRow): Registration {
  const json = <T>(v: T | string): T =>
    typeof v === 'string' ? (JSON.parse(v) as T) : v;
  return {
    id: row.id,
    role: row.role,
    environment: row.environment,
    host: row.host,
    pid: Number(row.pid),
    version: row.version,
    flags: json(row.flags),
    paths: json(row.paths),
    pathsUsed: Object.fromEntries(
      Object.entries(json(row.pathsUsed)).map(([op, u]) => [
        op,
        { path: u.path, at: new Date(u.at) },
      ]),
    ),
    startedAt: new Date(row.startedAt),
    heartbeatAt: new Date(row.heartbeatAt),
    stoppedAt: row.stoppedAt === null ? null : new Date(row.stoppedAt),
  };
}

/**
 * Beats once for a simulated process of `environment` whose flags put
 * every operation on V2, at `at` (the rollout demo and tests on a
 * simulated clock; a real process uses `startHeartbeat`).
 */
export async function simulatedV2Worker(
  db: Database,
  environment: DeploymentEnvironment,
  at: Date,
  id = `wk_simulated_${environment}`,
): Promise<void> {
  const flags = Object.fromEntries(
    FLAG_NAMES.map((f) => [
      f,
      { value: f !== 'FF_ENFORCE_INTEGRATION_ACCOUNT', source: 'store' },
    ]),
  ) as Record<FlagName, ProcessFlag>;
  await new WorkerRegistry(db).beat({
    id,
    role: 'worker',
    environment,
    host: 'simulated',
    pid: 0,
    version: VERSION,
    flags,
    paths: pathsFor(flags),
    startedAt: at,
    heartbeatAt: at,
  });
}
