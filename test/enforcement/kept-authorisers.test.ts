import { afterAll, describe, expect, it, vi } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import { operator } from '../../src/db/database.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { RouteCache } from '../../src/enforcement/route-cache.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { rotateMasterKey } from '../../src/vault/rotation.js';
import { Vault } from '../../src/vault/vault.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithNothing,
  ENFORCED,
  eventsOf,
  newApiKey,
  setFlags,
  usePlatform,
  type Platform,
} from '../support/platform.js';
import { masterKeys, ringOf } from '../vault/rings.js';

const keys = masterKeys('v1', 'v2');

/** What one operation saw: its path and its authoriser, or its error. */
interface Seen {
  keyVersion?: string;
  apiKey?: string;
  error?: TenantGateError;
}

/**
 * The gate as `openTenantGate` wires it in production: a route cache
 * and a vault that keeps opened authorisers for the same window (2 s),
 * both on one clock. The ring holds v1 and v2, v2 active.
 */
describeEachDatabase('kept authorisers with a warm route cache', ({ db }) => {
  const platform = usePlatform(db);
  const caches: RouteCache[] = [];
  afterAll(async () => {
    for (const cache of caches) await cache.stop();
  });

  async function warmGate(p: Platform, clocked: boolean) {
    const clock = { now: 1_000_000 };
    const now = clocked ? () => clock.now : undefined;
    const routes = await RouteCache.start({
      db: p.db,
      logger: p.logger,
      maxAgeMs: 2000,
      ...(clocked ? { listen: false, now } : {}),
    });
    caches.push(routes);
    const vault = new Vault(ringOf(keys, ['v1', 'v2']), {
      openCacheMs: 2000,
      now,
    });
    const gate = new EnforcementGate({
      db: p.db,
      vault,
      flags: p.flags,
      logger: p.logger,
      deploymentEnvironment: 'staging',
      accountEnvironment: 'TEST',
      routes,
    });
    return { gate, routes, vault, clock };
  }

  /** A company whose ACTIVE account is sealed under v1. */
  async function tenantOnV1(p: Platform) {
    const tenant = await companyWithNothing(p);
    const accounts = new AccountService({
      db: p.db,
      vault: new Vault(ringOf(keys, ['v1'])),
      logger: p.logger,
    });
    const apiKey = newApiKey('kept');
    const account = await accounts.create({
      companyId: tenant.company.id,
      kind: 'EINVOICE_EPOSLOVANJE',
      environment: 'TEST',
      secret: apiKey,
    });
    return { companyId: tenant.company.id, account, apiKey };
  }

  async function send(gate: EnforcementGate, companyId: string) {
    try {
      return await gate.run<Seen>(
        { companyId, operation: 'EINVOICE_SEND', origin: 'user' },
        {
          execute: async (route) => {
            const headers: Record<string, string> = {};
            route.authoriser.authorise(headers);
            return {
              keyVersion: route.authoriser.keyVersion,
              apiKey: headers.authorization,
            };
          },
        },
      );
    } catch (error) {
      expect(error).toBeInstanceOf(TenantGateError);
      return { error: error as TenantGateError };
    }
  }

  async function setBySql(accountId: string, column: string, value: string) {
    await db().transaction(operator, (tx) =>
      tx.query(
        `UPDATE "IntegrationAccount" SET "${column}" = $2 WHERE id = $1`,
        [accountId, value],
      ),
    );
  }

  describe('account status', () => {
    it('refuses a disabled account whose authoriser is kept, once notified', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const t = await tenantOnV1(p);
      const { gate, routes } = await warmGate(p, false);
      expect(await send(gate, t.companyId)).toEqual({
        keyVersion: 'v1',
        apiKey: t.apiKey,
      });

      await p.accounts.disable(t.companyId, t.account.id, 'test');
      await vi.waitFor(() => expect(routes.entriesOf(t.companyId)).toBe(0), {
        timeout: 10_000,
        interval: 5,
      });
      const refused = await send(gate, t.companyId);

      expect(refused.error?.code).toBe('INTEGRATION_DISABLED');
      const events = await eventsOf(p, t.companyId);
      expect(events.map((e) => e.outcome)).toEqual(['SUCCESS', 'BLOCKED']);
    });

    it('without a notification, the event catches the change and the next operation is refused', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const t = await tenantOnV1(p);
      const { gate } = await warmGate(p, true);
      await send(gate, t.companyId);
      await setBySql(t.account.id, 'status', 'DISABLED');

      const inFlight = await send(gate, t.companyId);
      const next = await send(gate, t.companyId);

      expect(inFlight.apiKey).toBe(t.apiKey);
      expect(p.logs.withEvent('enforcement.route_changed_in_flight')).toEqual([
        expect.objectContaining({ integrationAccountId: t.account.id }),
      ]);
      expect(next.error?.code).toBe('INTEGRATION_DISABLED');
    });
  });

  describe('master key rotation', () => {
    it('runs on the re-wrapped envelope once the rotation is notified', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const t = await tenantOnV1(p);
      const { gate, routes, vault } = await warmGate(p, false);
      expect((await send(gate, t.companyId)).keyVersion).toBe('v1');

      await rotateMasterKey(p.db, new Vault(ringOf(keys, ['v1', 'v2'])));
      await vi.waitFor(() => expect(routes.entriesOf(t.companyId)).toBe(0), {
        timeout: 10_000,
        interval: 5,
      });

      expect(await send(gate, t.companyId)).toEqual({
        keyVersion: 'v2',
        apiKey: t.apiKey,
      });
      expect(vault.activeKeyVersion).toBe('v2');
    });

    it('runs on the re-wrapped envelope within 2 s without a notification', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const t = await tenantOnV1(p);
      const { gate, clock } = await warmGate(p, true);
      expect((await send(gate, t.companyId)).keyVersion).toBe('v1');

      await rotateMasterKey(p.db, new Vault(ringOf(keys, ['v1', 'v2'])));
      clock.now += 2000;

      expect(await send(gate, t.companyId)).toEqual({
        keyVersion: 'v2',
        apiKey: t.apiKey,
      });
    });
  });

  describe('tampering', () => {
    it('fails the next operation on a tampered envelope although the original is kept', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const t = await tenantOnV1(p);
      const { gate, routes } = await warmGate(p, false);
      await send(gate, t.companyId);
      const [row] = await db().transaction(operator, (tx) =>
        tx.query<{ secretEnvelope: string }>(
          'SELECT "secretEnvelope" FROM "IntegrationAccount" WHERE id = $1',
          [t.account.id],
        ),
      );
      const envelope = row?.secretEnvelope ?? '';
      const at = envelope.length - 5;
      const changed =
        envelope.slice(0, at) +
        (envelope[at] === 'A' ? 'B' : 'A') +
        envelope.slice(at + 1);

      await setBySql(t.account.id, 'secretEnvelope', changed);
      await vi.waitFor(() => expect(routes.entriesOf(t.companyId)).toBe(0), {
        timeout: 10_000,
        interval: 5,
      });
      const failed = await send(gate, t.companyId);

      expect(failed.error?.code).toBe('VAULT_SECRET_UNREADABLE');
      const events = await eventsOf(p, t.companyId);
      expect(events.map((e) => e.outcome)).toEqual(['SUCCESS', 'FAILURE']);
    });
  });
});
