import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { beforeEach, expect, it } from 'vitest';
import { owner } from '../../src/db/database.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { createLogger } from '../../src/logging/logger.js';
import { workersOnV2 } from '../../src/rollout/acceptance.js';
import {
  startHeartbeat,
  VERSION,
  WorkerRegistry,
} from '../../src/workers/registry.js';
import { describeEachDatabase } from '../support/databases.js';

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
        samples: ['worker h:1 V1 for EINVOICE_SEND'],
      },
    });
  });
});
