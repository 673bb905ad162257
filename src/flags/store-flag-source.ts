import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import {
  FLAG_NAMES,
  type FlagName,
  type Settings,
} from '../config/settings.js';
import type { Database } from '../db/database.js';
import { PgliteDatabase } from '../db/pglite.js';
import { PostgresDatabase } from '../db/postgres.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import type { FlagContext, FlagSource } from './env-flags.js';
import {
  FlagStore,
  snapshotKey,
  type FlagSnapshot,
  type ProcessRecord,
} from './flag-store.js';
import {
  effectiveValue,
  type DeploymentEnvironment,
  type EffectiveValue,
} from './flag-value.js';

/** The channel the "Flag" table's trigger notifies on every change. */
export const FLAG_CHANNEL = 'tenantgate_flags';

export interface StoreFlagSourceOptions {
  db: Database;
  logger: Logger;
  /** The deployment environment this process runs in. */
  environment: DeploymentEnvironment;
  /** `FF_*` values from the environment (undefined when unset). */
  envFlags: Settings['flags'];
  /** How often to re-read the store. Default 1000 ms. */
  pollMs?: number;
  /** Listen for change notifications. Default true. */
  listen?: boolean;
  /** Record the effective values at start and on change. Default true. */
  record?: boolean;
}

/** Whether the in-memory values are current. */
export interface FlagSourceStatus {
  /** True while the store cannot be read: last known values in use. */
  stale: boolean;
  lastLoadedAt: Date;
  lastError: string | null;
  /** True while a notification listener is connected. */
  listening: boolean;
}

/**
 * The flag store behind the gate's synchronous `isEnabled`: an
 * in-memory snapshot refreshed by notifications (PostgreSQL LISTEN, or
 * PGlite's in-process listen) and by a short poll, so a change reaches
 * every process within about a second. A process that cannot read the
 * store keeps its last known values and says so; it never falls back
 * to "off".
 */
export class StoreFlagSource implements FlagSource {
  readonly processId = `${hostname()}:${process.pid}:${randomUUID()}`;
  private snapshot: FlagSnapshot = new Map();
  private lastLoadedAt = new Date(0);
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private inFlight: Promise<boolean> | undefined;
  private again = false;
  private stopped = false;
  private listenFailed = false;
  private lastRecorded = '';
  private snapshotText = '';
  private readonly listeners = new Set<() => void>();
  private readonly store: FlagStore;

  private constructor(private readonly options: StoreFlagSourceOptions) {
    this.store = new FlagStore(options.db);
  }

  /**
   * Loads the store (throws FLAG_STORE_UNAVAILABLE when it cannot: a
   * process with no known values must not start), records the values
   * it starts with, then listens and polls.
   */
  static async start(
    options: StoreFlagSourceOptions,
  ): Promise<StoreFlagSource> {
    const source = new StoreFlagSource(options);
    try {
      source.snapshot = await source.store.snapshot();
      source.snapshotText = describe(source.snapshot);
      source.lastLoadedAt = new Date();
    } catch (error) {
      throw new TenantGateError(
        'FLAG_STORE_UNAVAILABLE',
        'flags: the flag store cannot be read at start',
        { environment: options.environment },
        { cause: error },
      );
    }
    if (options.record ?? true) await source.recordValues('start');
    if (options.listen ?? true) await source.startListening();
    const pollMs = options.pollMs ?? 1000;
    source.timer = setInterval(() => void source.refresh(), pollMs);
    source.timer.unref();
    return source;
  }

  /** The deployment environment this process runs in. */
  get environment(): DeploymentEnvironment {
    return this.options.environment;
  }

  isEnabled(flag: FlagName, context: FlagContext): boolean {
    return this.effective(flag, context).value;
  }

  /** The value and where it came from (env, store or default). */
  effective(flag: FlagName, context: FlagContext): EffectiveValue {
    const envValue =
      context.environment === this.options.environment
        ? this.options.envFlags[flag]
        : undefined;
    return effectiveValue(
      flag,
      envValue,
      this.snapshot.get(snapshotKey(flag, context.environment)),
      context.companyId,
    );
  }

  /** Every flag's environment-wide value in this process's environment. */
  values(): Record<FlagName, EffectiveValue> {
    const environment = this.options.environment;
    return Object.fromEntries(
      FLAG_NAMES.map((f) => [f, this.effective(f, { environment })]),
    ) as Record<FlagName, EffectiveValue>;
  }

  /**
   * Calls `listener` after every refresh that changed a stored value.
   * Returns a function that removes it.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): FlagSourceStatus {
    return {
      stale: this.lastError !== null,
      lastLoadedAt: this.lastLoadedAt,
      lastError: this.lastError,
      listening: this.listener !== undefined || this.unlisten !== undefined,
    };
  }

  /**
   * Re-reads the store now. Returns false (and keeps the last known
   * values) when it cannot. Concurrent calls share one read, plus one
   * more when a call arrived during it.
   */
  async refresh(): Promise<boolean> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.load().finally(() => {
      this.inFlight = undefined;
    });
    const result = await this.inFlight;
    if (this.again && !this.stopped) {
      this.again = false;
      return this.refresh();
    }
    return result;
  }

  /** Stops polling and listening. The database stays open. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.inFlight?.catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  private async load(): Promise<boolean> {
    if (this.stopped) return false;
    const log = this.options.logger;
    try {
      this.snapshot = await this.store.snapshot();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.lastError === null) {
        log.warn(
          {
            event: 'flags.store_unreadable',
            lastLoadedAt: this.lastLoadedAt.toISOString(),
            err: message,
          },
          'flag store unreadable: keeping last known values',
        );
      }
      this.lastError = message;
      return false;
    }
    this.lastLoadedAt = new Date();
    const text = describe(this.snapshot);
    if (text !== this.snapshotText) {
      this.snapshotText = text;
      for (const listener of this.listeners) listener();
    }
    if (this.lastError !== null) {
      log.info({ event: 'flags.store_readable' }, 'flag store readable again');
      this.lastError = null;
    }
    if (!this.listening()) await this.startListening();
    if (this.options.record ?? true) await this.recordValues('change');
    return true;
  }

  private listening(): boolean {
    return !(this.options.listen ?? true) || this.status().listening;
  }

  /** Records the values when they differ from the last recorded ones. */
  private async recordValues(cause: ProcessRecord['cause']): Promise<void> {
    const values = this.values();
    const fingerprint = JSON.stringify(values);
    if (fingerprint === this.lastRecorded) return;
    const log = this.options.logger;
    if (cause === 'change') {
      log.info({ event: 'flags.changed', values }, 'flag values changed');
    }
    try {
      await this.store.recordProcess({
        environment: this.options.environment,
        processId: this.processId,
        host: hostname(),
        pid: process.pid,
        cause,
        values,
      });
      this.lastRecorded = fingerprint;
    } catch (error) {
      log.warn(
        {
          event: 'flags.record_failed',
          err: error instanceof Error ? error.message : String(error),
        },
        'could not record this process flag values',
      );
    }
  }

  private async startListening(): Promise<void> {
    const db = this.options.db;
    const onNotify = () => void this.refresh();
    try {
      if (db instanceof PgliteDatabase) {
        this.unlisten = await db.pg.listen(FLAG_CHANNEL, onNotify);
        return;
      }
      if (db instanceof PostgresDatabase) {
        this.listener = await this.connectListener(db, onNotify);
      }
      this.listenFailed = false;
    } catch (error) {
      if (this.listenFailed) return;
      this.listenFailed = true;
      this.options.logger.warn(
        {
          event: 'flags.listen_failed',
          err: error instanceof Error ? error.message : String(error),
        },
        'flag notifications unavailable: polling only',
      );
    }
  }

  private async connectListener(
    db: PostgresDatabase,
    onNotify: () => void,
  ): Promise<pg.Client> {
    const client = new pg.Client(db.pool.options);
    const dropped = () => {
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', dropped);
    client.on('end', dropped);
    client.on('notification', onNotify);
    await client.connect();
    await client.query(`LISTEN ${FLAG_CHANNEL}`);
    return client;
  }
}

/** A snapshot as text, to tell whether a refresh changed anything. */
function describe(snapshot: FlagSnapshot): string {
  return JSON.stringify(
    [...snapshot].map(([key, stored]) => [
      key,
      stored.environmentWide,
      [...stored.overrides],
    ]),
  );
}
