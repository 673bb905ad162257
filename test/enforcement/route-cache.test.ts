import { afterAll, describe, expect, it, vi } from 'vitest';
import { APP_ROLE, operator, type Database } from '../../src/db/database.js';
import { PgliteDatabase } from '../../src/db/pglite.js';
import { PostgresDatabase } from '../../src/db/postgres.js';
import {
  EnforcementGate,
  resolutionKey,
  type OperationRequest,
} from '../../src/enforcement/gate.js';
import {
  RouteCache,
  type RouteCacheOptions,
} from '../../src/enforcement/route-cache.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  documentsFrom,
  ENFORCED,
  eventsOf,
  invoiceFor,
  setFlags,
  usePlatform,
  type Platform,
  type Tenant,
} from '../support/platform.js';

/** The database with a count of the transactions the gate opens. */
function counted(db: Database): {
  db: Database;
  roundTrips: () => number;
  singles: () => number;
  /** Single statements that ran but did nothing: not the app role. */
  refused: () => number;
} {
  let n = 0;
  let singles = 0;
  let refused = 0;
  return {
    db: {
      kind: db.kind,
      transaction: (scope, fn) => {
        n++;
        return db.transaction(scope, fn);
      },
      batch: (scope, statements) => {
        n++;
        return db.batch(scope, statements);
      },
      single: async (scope, statement) => {
        const rows = await db.single?.(scope, statement);
        // Not run (the session is not the app role): no round trip.
        if (rows) n++;
        if (rows?.length) singles++;
        else if (rows) refused++;
        return rows;
      },
      withOwnerSession: (fn) => db.withOwnerSession(fn),
      close: () => db.close(),
    },
    roundTrips: () => n,
    singles: () => singles,
    refused: () => refused,
  };
}

/**
 * Leaves the session the next statement runs on as the owner, behind
 * the database's back (it still takes it for the app role), and returns
 * how to put it back.
 */
async function ownerSessionBehindTheBack(
  db: Database,
): Promise<() => Promise<void>> {
  if (db instanceof PgliteDatabase) {
    await db.pg.exec('RESET ROLE');
    return () => db.dropPrivileges();
  }
  if (!(db instanceof PostgresDatabase)) throw new Error('unknown database');
  // The pool hands out the connection released last first.
  const client = await db.pool.connect();
  await client.query('RESET ROLE');
  client.release();
  return async () => {
    const clients = await Promise.all(
      Array.from({ length: db.pool.idleCount }, () => db.pool.connect()),
    );
    for (const c of clients) {
      await c.query(`SET ROLE ${APP_ROLE}`);
      c.release();
    }
  };
}

/** Changes an account's status behind the services' back. */
async function setStatusBySql(p: Platform, accountId: string, status: string) {
  await p.db.transaction(operator, (tx) =>
    tx.query('UPDATE "IntegrationAccount" SET status = $2 WHERE id = $1', [
      accountId,
      status,
    ]),
  );
}

describeEachDatabase('route cache', ({ db }) => {
  const platform = usePlatform(db);
  const caches: RouteCache[] = [];
  afterAll(async () => {
    for (const cache of caches) await cache.stop();
  });

  async function cachedGate(
    p: Platform,
    options: Partial<RouteCacheOptions> = {},
  ) {
    // A long max age unless a test sets one: sends take a while on a
    // busy machine, and these tests are about notifications.
    const routes = await RouteCache.start({
      db: p.db,
      logger: p.logger,
      maxAgeMs: 60_000,
      ...options,
    });
    caches.push(routes);
    const counter = counted(p.db);
    const gate = new EnforcementGate({
      db: counter.db,
      vault: p.vault,
      flags: p.flags,
      logger: p.logger,
      deploymentEnvironment: 'staging',
      accountEnvironment: 'TEST',
      routes,
    });
    return {
      gate,
      routes,
      roundTrips: counter.roundTrips,
      singles: counter.singles,
      refused: counter.refused,
    };
  }

  async function send(
    p: Platform,
    gate: EnforcementGate,
    tenant: Tenant,
    request: Partial<OperationRequest> = {},
  ): Promise<{ path?: string; error?: TenantGateError }> {
    try {
      const path = await gate.run(
        {
          companyId: tenant.company.id,
          operation: 'EINVOICE_SEND',
          origin: 'user',
          ...request,
        },
        {
          execute: async (route) => {
            await p.intermediaries
              .client(route.kind, route.account)
              .send({ ublXml: invoiceFor(tenant) }, route.authoriser);
            return route.decision.path;
          },
        },
      );
      return { path };
    } catch (error) {
      expect(error).toBeInstanceOf(TenantGateError);
      return { error: error as TenantGateError };
    }
  }

  describe('steady state', () => {
    it('makes one round trip per warm operation: its event', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, roundTrips, singles } = await cachedGate(p);

      expect(await send(p, gate, tenant)).toEqual({ path: 'V2' });
      const cold = roundTrips();
      const coldSingles = singles();
      expect(await send(p, gate, tenant)).toEqual({ path: 'V2' });
      expect(await send(p, gate, tenant)).toEqual({ path: 'V2' });

      expect(cold).toBe(2);
      expect(roundTrips() - cold).toBe(2);
      // The warm events went as one self-scoped statement each. The
      // cold operation's resolution did too; its event carried the
      // lastUsedAt touch, so it went in a batch.
      expect(coldSingles).toBe(1);
      expect(singles() - coldSingles).toBe(2);
      const events = await eventsOf(p, tenant.company.id);
      expect(events.map((e) => [e.path, e.outcome])).toEqual([
        ['V2', 'SUCCESS'],
        ['V2', 'SUCCESS'],
        ['V2', 'SUCCESS'],
      ]);
      expect(documentsFrom(p, tenant)).toHaveLength(3);
    });

    it('falls back to a batch, one event still, on a session not in the app role', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, refused } = await cachedGate(p);
      expect(await send(p, gate, tenant)).toEqual({ path: 'V2' });

      const restore = await ownerSessionBehindTheBack(p.db);
      let result: Awaited<ReturnType<typeof send>>;
      try {
        result = await send(p, gate, tenant);
      } finally {
        await restore();
      }

      expect(result).toEqual({ path: 'V2' });
      expect(refused()).toBeGreaterThan(0);
      const events = await eventsOf(p, tenant.company.id);
      expect(events.map((e) => [e.path, e.outcome])).toEqual([
        ['V2', 'SUCCESS'],
        ['V2', 'SUCCESS'],
      ]);
    });

    it('keeps no opened secret: the envelope is opened on every operation', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, routes } = await cachedGate(p);
      const opened = vi.spyOn(p.vault, 'apiKeyAuthoriser');

      await send(p, gate, tenant);
      await send(p, gate, tenant);

      expect(opened).toHaveBeenCalledTimes(2);
      opened.mockRestore();
      const key = resolutionKey({ operation: 'EINVOICE_SEND' }, 'TEST');
      const held = JSON.stringify(routes.get(tenant.company.id, key));
      expect(held).toContain(tenant.account?.id);
      expect(held).not.toContain(tenant.accountKey);
    });
  });

  describe('invalidation by notification', () => {
    it('refuses the next operation once a disabled account is notified', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, routes } = await cachedGate(p);
      await send(p, gate, tenant);
      expect(routes.entriesOf(tenant.company.id)).toBe(1);

      await setStatusBySql(p, tenant.account?.id as string, 'DISABLED');
      await vi.waitFor(
        () => expect(routes.entriesOf(tenant.company.id)).toBe(0),
        { timeout: 2000, interval: 5 },
      );
      const refused = await send(p, gate, tenant);

      expect(refused.error?.code).toBe('INTEGRATION_DISABLED');
      expect(documentsFrom(p, tenant)).toHaveLength(1);
      const last = (await eventsOf(p, tenant.company.id)).at(-1);
      expect(last).toMatchObject({ outcome: 'BLOCKED', path: null });
    });

    it('drops a company’s routes when its legacy key changes', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, routes } = await cachedGate(p);
      await send(p, gate, tenant);

      await p.companies.setLegacyEInvoiceKey(
        tenant.company.id,
        'eposlovanje',
        'ep-legacy-changed',
      );

      await vi.waitFor(
        () => expect(routes.entriesOf(tenant.company.id)).toBe(0),
        { timeout: 2000, interval: 5 },
      );
    });

    it('keeps routes when only bookkeeping columns change', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const other = await companyWithAccount(p);
      const { gate, routes } = await cachedGate(p);
      await send(p, gate, tenant);
      await send(p, gate, other);

      await p.db.transaction(operator, (tx) =>
        tx.query(
          `UPDATE "IntegrationAccount" SET "lastUsedAt" = now(),
             "secretVerifiedAt" = now(), "updatedAt" = now() WHERE id = $1`,
          [tenant.account?.id],
        ),
      );
      // Notifications arrive in commit order: once the other company's
      // change is seen, the first one would have been seen too.
      await setStatusBySql(p, other.account?.id as string, 'DISABLED');
      await vi.waitFor(
        () => expect(routes.entriesOf(other.company.id)).toBe(0),
        { timeout: 2000, interval: 5 },
      );

      expect(routes.entriesOf(tenant.company.id)).toBe(1);
    });
  });

  describe('bounded age', () => {
    it('resolves again once an entry is older than the max age', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      let now = 1_000_000;
      const { gate } = await cachedGate(p, {
        listen: false,
        maxAgeMs: 2000,
        now: () => now,
      });
      await send(p, gate, tenant);
      await setStatusBySql(p, tenant.account?.id as string, 'DISABLED');

      now += 2000;
      const refused = await send(p, gate, tenant);

      expect(refused.error?.code).toBe('INTEGRATION_DISABLED');
    });

    it('within the max age, a missed change is caught as the event commits', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, roundTrips } = await cachedGate(p, {
        listen: false,
        maxAgeMs: 60_000,
      });
      await send(p, gate, tenant);
      await setStatusBySql(p, tenant.account?.id as string, 'DISABLED');

      // The window: the route was resolved before the change was seen,
      // so this operation runs, and is recorded as it happened.
      const inFlight = await send(p, gate, tenant);
      const before = roundTrips();
      const next = await send(p, gate, tenant);

      expect(inFlight).toEqual({ path: 'V2' });
      expect(p.logs.withEvent('enforcement.route_changed_in_flight')).toEqual([
        expect.objectContaining({
          companyId: tenant.company.id,
          integrationAccountId: tenant.account?.id,
        }),
      ]);
      expect(next.error?.code).toBe('INTEGRATION_DISABLED');
      expect(roundTrips() - before).toBe(2);
      expect(documentsFrom(p, tenant)).toHaveLength(2);
    });

    it('never stores a resolution read while an invalidation arrived', async () => {
      const p = platform();
      const routes = await RouteCache.start({
        db: p.db,
        logger: p.logger,
        listen: false,
      });
      const ticket = routes.ticket();
      routes.forget('company-a');
      routes.set('company-a', 'key', { accountStatus: 'ACTIVE' }, ticket);

      expect(routes.get('company-a', 'key')).toBeUndefined();
      await routes.stop();
    });

    it('serves nothing with a max age of 0', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      const { gate, roundTrips } = await cachedGate(p, { maxAgeMs: 0 });

      await send(p, gate, tenant);
      await send(p, gate, tenant);

      expect(roundTrips()).toBe(4);
    });
  });

  describe('tenant isolation with a warm cache', () => {
    it('refuses another company’s account named by a warm tenant', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const victim = await companyWithAccount(p);
      const attacker = await companyWithAccount(p);
      const { gate } = await cachedGate(p);
      await send(p, gate, victim);
      await send(p, gate, attacker);

      const named = { accountId: victim.account?.id as string };
      const first = await send(p, gate, attacker, named);
      const second = await send(p, gate, attacker, named);

      expect(first.error?.code).toBe('TENANT_VIOLATION');
      expect(second.error?.code).toBe('TENANT_VIOLATION');
      expect(documentsFrom(p, victim)).toHaveLength(1);
      const own = await send(p, gate, attacker);
      expect(own).toEqual({ path: 'V2' });
      const events = await eventsOf(p, attacker.company.id);
      expect(events.map((e) => e.integrationAccountId)).toEqual([
        attacker.account?.id,
        victim.account?.id,
        victim.account?.id,
        attacker.account?.id,
      ]);
    });

    it('keeps each company’s routes apart', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const a = await companyWithAccount(p);
      const b = await companyWithAccount(p);
      const { gate, routes } = await cachedGate(p);
      await send(p, gate, a);
      await send(p, gate, b);

      await setStatusBySql(p, a.account?.id as string, 'DISABLED');
      await vi.waitFor(() => expect(routes.entriesOf(a.company.id)).toBe(0), {
        timeout: 2000,
        interval: 5,
      });

      expect((await send(p, gate, a)).error?.code).toBe('INTEGRATION_DISABLED');
      expect(await send(p, gate, b)).toEqual({ path: 'V2' });
      const bEvents = await eventsOf(p, b.company.id);
      expect(
        bEvents.every((e) => e.integrationAccountId === b.account?.id),
      ).toBe(true);
    });
  });
});
