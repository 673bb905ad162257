import pg from 'pg';
import type { Database } from '../db/database.js';
import { PgliteDatabase } from '../db/pglite.js';
import { PostgresDatabase } from '../db/postgres.js';
import type { Logger } from '../logging/logger.js';

/**
 * The channel migration 0011's triggers notify, with the company id as
 * payload (empty: every company), whenever a column the gate's
 * resolution reads changes on "IntegrationAccount" or "Company".
 */
export const ROUTE_CHANNEL = 'tenantgate_routes';

/** Default longest time a resolution is served from memory. */
export const DEFAULT_ROUTE_MAX_AGE_MS = 2000;

export interface RouteCacheOptions {
  db: Database;
  logger: Logger;
  /**
   * The longest a resolution is served from memory, whatever the
   * notifications say: the backstop for a lost notification. Default
   * 2000 ms (`TENANTGATE_ROUTE_CACHE_MAX_AGE_MS`); 0 turns the cache off.
   */
  maxAgeMs?: number;
  /** Resolutions kept; the oldest go first. Default 10 000. */
  maxEntries?: number;
  /**
   * Listen for the triggers' notifications. Default true. While a
   * listening cache has no connection it serves nothing. With false it
   * relies on `maxAgeMs` alone (tests of the backstop).
   */
  listen?: boolean;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** What the cache is doing, for status pages and tests. */
export interface RouteCacheStatus {
  listening: boolean;
  entries: number;
  hits: number;
  misses: number;
  invalidations: number;
}

interface Entry {
  value: unknown;
  storedAt: number;
}

/**
 * Route facts the gate resolved, by company, so that a steady-state
 * operation needs no resolution round trip. Holds what the resolution
 * query returns — ids, statuses, kinds, company settings and sealed
 * envelopes — and never an opened secret: the gate asks the vault for
 * a capability on every operation (the vault may hand out one it
 * opened for the very same envelope string within 2 s, see Vault).
 *
 * An entry goes when (a) a trigger's notification names its company,
 * (b) `forget` is called by a service in this process, (c) it is older
 * than `maxAgeMs`, or (d) the listening connection drops (everything
 * goes, and nothing is served until it is back). A resolution read
 * while an invalidation arrived is not stored (see `ticket`).
 */
export class RouteCache {
  private readonly byCompany = new Map<string, Map<string, Entry>>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private generation = 0;
  private size = 0;
  private hits = 0;
  private misses = 0;
  private invalidations = 0;
  private listener: pg.Client | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private connecting: Promise<void> | undefined;
  private lastAttempt = 0;
  private warned = false;
  private stopped = false;

  private constructor(private readonly options: RouteCacheOptions) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_ROUTE_MAX_AGE_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * A cache that listens for route changes. It never fails to start:
   * without a notification connection it serves nothing (every
   * operation resolves) and retries the connection at most once a
   * second.
   */
  static async start(options: RouteCacheOptions): Promise<RouteCache> {
    const cache = new RouteCache(options);
    if (cache.enabled && (options.listen ?? true)) await cache.connect();
    return cache;
  }

  private get enabled(): boolean {
    return this.maxAgeMs > 0 && !this.stopped;
  }

  /** True while entries may be served. */
  get serving(): boolean {
    if (!this.enabled) return false;
    if (!(this.options.listen ?? true)) return true;
    return this.listener !== undefined || this.unlisten !== undefined;
  }

  /** The fresh resolution stored under `key` for the company, if any. */
  get<T>(companyId: string, key: string): T | undefined {
    if (!this.serving) {
      this.reconnectLater();
      this.misses++;
      return undefined;
    }
    const entry = this.byCompany.get(companyId)?.get(key);
    if (!entry || this.now() - entry.storedAt >= this.maxAgeMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.value as T;
  }

  /**
   * Taken before reading a resolution from the database; `set` stores
   * it only if no invalidation arrived meanwhile, so a read that raced
   * a change is never cached.
   */
  ticket(): number {
    return this.generation;
  }

  /** Stores a resolution read after `ticket` was taken. */
  set(companyId: string, key: string, value: unknown, ticket: number): void {
    if (!this.serving || ticket !== this.generation) return;
    let entries = this.byCompany.get(companyId);
    if (!entries) {
      entries = new Map();
      this.byCompany.set(companyId, entries);
    }
    if (!entries.has(key)) this.size++;
    entries.set(key, { value, storedAt: this.now() });
    if (this.size > this.maxEntries) this.dropOldestCompany();
  }

  /** Drops the company's resolutions (a change made in this process). */
  forget(companyId: string): void {
    this.generation++;
    this.invalidations++;
    this.size -= this.byCompany.get(companyId)?.size ?? 0;
    this.byCompany.delete(companyId);
  }

  /** Drops every resolution. */
  clear(): void {
    this.generation++;
    this.invalidations++;
    this.byCompany.clear();
    this.size = 0;
  }

  /** How many resolutions of the company are held. */
  entriesOf(companyId: string): number {
    return this.byCompany.get(companyId)?.size ?? 0;
  }

  status(): RouteCacheStatus {
    return {
      listening: this.listener !== undefined || this.unlisten !== undefined,
      entries: this.size,
      hits: this.hits,
      misses: this.misses,
      invalidations: this.invalidations,
    };
  }

  /** Stops listening and drops everything. The database stays open. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clear();
    await this.connecting?.catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  private onNotify(payload: string | undefined): void {
    if (payload) this.forget(payload);
    else this.clear();
  }

  private dropOldestCompany(): void {
    const oldest = this.byCompany.keys().next().value;
    if (oldest !== undefined) this.forget(oldest);
  }

  private reconnectLater(): void {
    if (!this.enabled || !(this.options.listen ?? true)) return;
    if (this.connecting || this.now() - this.lastAttempt < 1000) return;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.lastAttempt = this.now();
    this.connecting = this.listen().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
  }

  private async listen(): Promise<void> {
    const db = this.options.db;
    try {
      if (db instanceof PgliteDatabase) {
        this.unlisten = await db.pg.listen(ROUTE_CHANNEL, (payload) =>
          this.onNotify(payload),
        );
      } else if (db instanceof PostgresDatabase) {
        this.listener = await this.connectListener(db);
      }
      // Whatever happened while nobody listened is unknown.
      this.clear();
      this.warned = false;
    } catch (error) {
      if (this.warned) return;
      this.warned = true;
      this.options.logger.warn(
        {
          event: 'enforcement.route_cache_unavailable',
          err: error instanceof Error ? error.message : String(error),
        },
        'route notifications unavailable: every operation resolves',
      );
    }
  }

  private async connectListener(db: PostgresDatabase): Promise<pg.Client> {
    const client = new pg.Client(db.pool.options);
    const dropped = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.clear();
      client.end().catch(() => undefined);
    };
    client.on('error', dropped);
    client.on('end', dropped);
    client.on('notification', (message) => this.onNotify(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${ROUTE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }
}
