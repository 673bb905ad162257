import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { beforeEach, expect, it } from 'vitest';
import { owner } from '../../src/db/database.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { createLogger } from '../../src/logging/logger.js';
import { workersOnV2 } from '../../src/rollout/acceptance.js';
import { PathsUsed } from '../../src/workers/paths-used.js';
import {
  startHeartbeat,
  VERSION,
  WorkerRegistry,
} from '../../src/workers/registry.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  addAccount,
  companyWithLegacyKey,
  invoiceFor,
  setFlags,
  usePlatform,
  type Tenant,
} from '../support/platform.js';

const quiet = createLogger(
  'info',
  new Writable({ write: (_c, _e, done) => done() }),
);
const V2_FLAGS = {
  FF_INTEGRATION_ACCOUNT_OUTBOUND: true,
  FF_INTEGRATION_ACCOUNT_INBOUND: true,
  FF_INTEGRATION_ACCOUNT_FISCAL: true,
};

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeEachDatabase('Issue 7: the registry of running workers', ({ db }) => {
  const platform = usePlatform(db);

  beforeEach(async () => {
    await db().transaction(owner, (tx) =>
      tx.query('TRUNCATE "WorkerRegistration", "Flag", "FlagChange"'),
    );
  });

  it('registers host, pid, version, environment, flags and paths', async () => {
    const flags = new StaticFlagSource({ FF_INTEGRATION_ACCOUNT_FISCAL: true });
    const hb = await startHeartbeat({
      db: db(),
      logger: quiet,
      role: 'worker',
      environment: 'production',
      flags,
    });
    try {
      const [w] = await new WorkerRegistry(db()).list(
        'production',
        new Date(),
        30_000,
      );

      expect(w).toMatchObject({
        id: hb.id,
        role: 'worker',
        host: hostname(),
        pid: process.pid,
        version: VERSION,
        live: true,
        paths: {
          EINVOICE_SEND: 'V1',
          EINVOICE_RECEIVE: 'V1',
          FISCALIZATION: 'V2',
          EINVOICE_REPORT: 'V2',
        },
      });
      expect(w?.flags.FF_INTEGRATION_ACCOUNT_FISCAL).toEqual({
        value: true,
        source: 'unknown',
      });
    } finally {
      await hb.stop();
    }
  });

  it('heartbeats every interval and is not live once stopped', async () => {
    const hb = await startHeartbeat({
      db: db(),
      logger: quiet,
      role: 'api',
      environment: 'staging',
      flags: new StaticFlagSource(V2_FLAGS),
      intervalMs: 100,
    });
    const registry = new WorkerRegistry(db());
    const [first] = await registry.list('staging', new Date(), 30_000);

    const later = await until(
      () => registry.list('staging', new Date(), 30_000),
      (ws) => (ws[0]?.heartbeatAt ?? 0) > (first?.heartbeatAt ?? 0),
    );
    await hb.stop();
    const [stopped] = await registry.list('staging', new Date(), 30_000);

    expect(later[0]?.heartbeatAt.getTime()).toBeGreaterThan(
      first?.heartbeatAt.getTime() ?? 0,
    );
    expect(stopped).toMatchObject({ live: false });
    expect(stopped?.stoppedAt).not.toBeNull();
  });

  it('beats at once with the new paths when a stored flag changes', async () => {
    const flags = await StoreFlagSource.start({
      db: db(),
      logger: quiet,
      environment: 'staging',
      envFlags: {
        FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
        FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
        FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
        FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
      },
      pollMs: 100,
      record: false,
    });
    const hb = await startHeartbeat({
      db: db(),
      logger: quiet,
      role: 'start',
      environment: 'staging',
      flags,
      intervalMs: 60_000,
    });
    const registry = new WorkerRegistry(db());
    try {
      await new FlagStore(db()).set({
        flag: 'FF_ENFORCE_INTEGRATION_ACCOUNT',
        environment: 'staging',
        enabled: true,
        actor: 'test',
        reason: 'registry test',
      });

      const [w] = await until(
        () => registry.list('staging', new Date(), 30_000),
        (ws) => ws[0]?.paths.EINVOICE_SEND === 'V2',
      );

      expect(Object.values(w?.paths ?? {})).toEqual(['V2', 'V2', 'V2', 'V2']);
      expect(w?.flags.FF_ENFORCE_INTEGRATION_ACCOUNT).toEqual({
        value: true,
        source: 'store',
      });
    } finally {
      await hb.stop();
      await flags.stop();
    }
  });

  it('judges "all workers on V2" from live registrations only', async () => {
    const registry = new WorkerRegistry(db());
    const now = new Date('2026-03-01T12:00:00Z');
    const beat = (id: string, v1: boolean, at: Date) =>
      registry.beat({
        id,
        role: 'worker',
        environment: 'production',
        host: 'h',
        pid: 1,
        version: '1',
        flags: {} as never,
        paths: {
          EINVOICE_SEND: v1 ? 'V1' : 'V2',
          EINVOICE_RECEIVE: 'V2',
          FISCALIZATION: 'V2',
          EINVOICE_REPORT: 'V2',
        },
        startedAt: at,
        heartbeatAt: at,
      });
    const judge = () => workersOnV2(db(), 'production', now, 30_000);

    const none = await judge();
    await beat('wk_v2', false, new Date(now.getTime() - 5_000));
    const onlyV2 = await judge();
    await beat('wk_old_v1', true, new Date(now.getTime() - 60_000));
    const withStale = await judge();
    await beat('wk_v1', true, new Date(now.getTime() - 1_000));
    const withV1 = await judge();

    expect(none).toMatchObject({
      status: 'INCONCLUSIVE',
      numbers: { live: 0 },
    });
    expect(onlyV2).toMatchObject({ status: 'PASS', numbers: { live: 1 } });
    expect(withStale).toMatchObject({
      status: 'PASS',
      numbers: { live: 1, stale: 1 },
    });
    expect(withV1).toMatchObject({
      status: 'FAIL',
      numbers: {
        live: 2,
        onV1: 1,
        samples: ['worker h:1 wk_v1 V1 for EINVOICE_SEND'],
      },
    });
  });
  it('fails "all workers on V2" while a worker\'s gate last used V1, and passes after it used V2', async () => {
    const p = platform();
    // Migration flags on: the flags give V2 everywhere, yet a company
    // with only a legacy key still falls back to V1.
    setFlags(p, V2_FLAGS);
    const pathsUsed = new PathsUsed();
    const gate = new EnforcementGate({
      db: p.db,
      vault: p.vault,
      flags: p.flags,
      logger: p.logger,
      deploymentEnvironment: 'staging',
      accountEnvironment: 'TEST',
      pathsUsed,
    });
    const hb = await startHeartbeat({
      db: db(),
      logger: quiet,
      role: 'worker',
      environment: 'staging',
      flags: p.flags,
      pathsUsed,
      intervalMs: 60_000,
    });
    const send = (tenant: Tenant, origin: 'user' | 'probe' = 'user') =>
      gate.run(
        {
          companyId: tenant.company.id,
          operation: 'EINVOICE_SEND',
          origin,
        },
        {
          execute: (route) =>
            p.intermediaries
              .client(route.kind, route.account)
              .send({ ublXml: invoiceFor(tenant) }, route.authoriser),
        },
      );
    const registry = new WorkerRegistry(db());
    const judge = () => workersOnV2(db(), 'staging', new Date(), 30_000);
    try {
      const before = await judge();
      const tenant = await companyWithLegacyKey(p);
      // A probe's path is deliberate, not the process's: not noted.
      await send(tenant, 'probe');
      await hb.beat();
      const afterProbe = await judge();
      await send(tenant);
      await hb.beat();
      const [afterV1] = await registry.list('staging', new Date(), 30_000);
      const failing = await judge();
      await send(await addAccount(p, tenant, 'ACTIVE'));
      await hb.beat();
      const [afterV2] = await registry.list('staging', new Date(), 30_000);
      const passing = await judge();

      expect(before).toMatchObject({ status: 'PASS', numbers: { onV1: 0 } });
      expect(afterProbe).toMatchObject({
        status: 'PASS',
        numbers: { onV1: 0 },
      });
      expect(afterV1?.paths.EINVOICE_SEND).toBe('V2');
      expect(afterV1?.pathsUsed).toEqual({
        EINVOICE_SEND: { path: 'V1', at: expect.any(Date) },
      });
      expect(failing).toMatchObject({
        status: 'FAIL',
        numbers: {
          live: 1,
          onV1: 1,
          samples: [
            `worker ${hostname()}:${process.pid} ${hb.id} V1 for EINVOICE_SEND (used)`,
          ],
        },
      });
      expect(afterV2?.pathsUsed.EINVOICE_SEND?.path).toBe('V2');
      expect(passing).toMatchObject({ status: 'PASS', numbers: { onV1: 0 } });
    } finally {
      await hb.stop();
    }
  });

  it('judges an operation by its flags when its last use is before the window', async () => {
    const registry = new WorkerRegistry(db());
    const now = new Date('2026-03-01T12:00:00Z');
    const since = new Date(now.getTime() - 3_600_000);
    const beat = (sendUsedAt: Date, sendPath: 'V1' | 'V2') =>
      registry.beat({
        id: 'wk_window',
        role: 'worker',
        environment: 'production',
        host: 'h',
        pid: 1,
        version: '1',
        flags: {} as never,
        paths: {
          EINVOICE_SEND: 'V2',
          EINVOICE_RECEIVE: 'V2',
          FISCALIZATION: 'V1',
          EINVOICE_REPORT: 'V2',
        },
        pathsUsed: {
          EINVOICE_SEND: { path: sendPath, at: sendUsedAt },
          FISCALIZATION: { path: 'V2', at: now },
        },
        startedAt: now,
        heartbeatAt: now,
      });
    const judge = () => workersOnV2(db(), 'production', now, 30_000, since);

    await beat(new Date(since.getTime() - 1_000), 'V1');
    const oldV1 = await judge();
    await beat(new Date(since.getTime() + 1_000), 'V1');
    const recentV1 = await judge();

    // FISCALIZATION's flags say V1 but it last ran on V2 in the window;
    // a send on V1 before the window falls back to the flags (V2).
    expect(oldV1).toMatchObject({ status: 'PASS', numbers: { onV1: 0 } });
    expect(recentV1).toMatchObject({
      status: 'FAIL',
      numbers: {
        samples: ['worker h:1 wk_window V1 for EINVOICE_SEND (used)'],
      },
    });
  });
});
