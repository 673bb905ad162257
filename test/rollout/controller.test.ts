import { expect, it } from 'vitest';
import { FLAG_NAMES, type FlagName } from '../../src/config/settings.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { PathsUsed } from '../../src/workers/paths-used.js';
import {
  pathsFor,
  VERSION,
  type ProcessFlag,
  WorkerRegistry,
} from '../../src/workers/registry.js';
import { insertEvents } from '../metrics/ledger-builders.js';
import {
  allFlagsOnFor,
  DAY_MS,
  describeRollout,
  healthyBoth,
  insertHealthy,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

const HOUR_MS = 3_600_000;

/** A controller on a clock the test moves. */
function controllerOn(dbs: RolloutDatabases) {
  const clock = { now: NOW };
  const controller = new RolloutController({
    control: dbs.production,
    databases: { staging: dbs.staging, production: dbs.production },
    audits: async () => (await sourcesOf(dbs)).audits,
    logger: createLogger('silent'),
    now: () => clock.now,
  });
  return { clock, controller };
}

async function enforcement(
  dbs: RolloutDatabases,
  env: 'staging' | 'production',
) {
  const rows = await new FlagStore(dbs[env]).list(env);
  return rows.find((r) => r.flag === 'FF_ENFORCE_INTEGRATION_ACCOUNT')?.enabled;
}

describeRollout(
  'rollout stages',
  (dbs) => {
    it('walks from LEGACY to COMPLETE on a simulated clock', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      const ops = { actor: 'ops@example.hr' };

      const first = await controller.advance(ops);
      expect(first).toMatchObject({ advanced: true, to: 'STAGING_ENFORCED' });
      expect(await enforcement(d, 'staging')).toBe(true);

      const early = await controller.advance(ops);
      expect(early).toMatchObject({ advanced: false, blockedBy: 'gates' });
      expect(early.gates[0]).toMatchObject({
        gate: 'watch_window_elapsed',
        status: 'INCONCLUSIVE',
      });

      clock.now = new Date(NOW.getTime() + 25 * HOUR_MS);
      await insertHealthy(d.staging, 'staging', 100, clock.now, 24 * HOUR_MS);
      const second = await controller.advance(ops);
      expect(second).toMatchObject({
        advanced: true,
        to: 'PRODUCTION_SOFT_FAIL',
      });
      expect(await enforcement(d, 'production')).toBe(false);

      const start = clock.now;
      clock.now = new Date(start.getTime() + 25 * HOUR_MS);
      await insertHealthy(
        d.production,
        'production',
        100,
        clock.now,
        24 * HOUR_MS,
      );
      const unapproved = await controller.advance(ops);
      expect(unapproved).toMatchObject({
        advanced: false,
        blockedBy: 'approval',
      });
      const third = await controller.advance({
        ...ops,
        approval: 'Ana Horvat',
      });
      expect(third).toMatchObject({
        advanced: true,
        to: 'PRODUCTION_ENFORCED',
      });
      expect(await enforcement(d, 'production')).toBe(true);

      const enforcedAt = clock.now;
      clock.now = new Date(enforcedAt.getTime() + 7 * DAY_MS + HOUR_MS);
      await insertHealthy(
        d.production,
        'production',
        100,
        clock.now,
        7 * DAY_MS,
      );
      const notProbed = await controller.advance(ops);
      expect(
        notProbed.gates.find((g) => g.gate === 'probe_blocked'),
      ).toMatchObject({ status: 'INCONCLUSIVE' });
      await insertEvents(d.production, [
        {
          at: new Date(clock.now.getTime() - HOUR_MS).toISOString(),
          origin: 'probe',
          path: 'V1',
          outcome: 'BLOCKED',
          errorName: 'IntegrationRequiredError',
        },
      ]);
      const last = await controller.advance(ops);
      expect(last).toMatchObject({ advanced: true, to: 'COMPLETE' });

      const history = await controller.store.transitions();
      expect(history.map((t) => t.toStage)).toEqual([
        'STAGING_ENFORCED',
        'PRODUCTION_SOFT_FAIL',
        'PRODUCTION_ENFORCED',
        'COMPLETE',
      ]);
      expect(history[2]?.approval).toBe('Ana Horvat');
      const stored = await controller.store.evaluations(1000);
      const legacyPath = stored.find(
        (e) => e.gate === 'all_v2' && e.stage === 'PRODUCTION_ENFORCED',
      );
      expect(legacyPath?.numbers).toMatchObject({ count: 0 });
    });

    it('refuses to leave LEGACY while a prerequisite is not READY', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 3);
      await healthyBoth(d);
      const { controller } = controllerOn(d);

      const report = await controller.advance({ actor: 'ops' });

      expect(report).toMatchObject({ advanced: false, blockedBy: 'gates' });
      const failed = report.gates.filter((g) => g.status === 'FAIL');
      expect(failed.map((g) => g.gate)).toContain(
        'readiness.flags.staging.FF_INTEGRATION_ACCOUNT_FISCAL',
      );
      expect(await enforcement(d, 'staging')).toBeUndefined();
      expect((await controller.status()).stage).toBe('LEGACY');
    });

    it('holds staging while a live worker last used V1, and passes once it used V2', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      await controller.advance({ actor: 'ops' });
      clock.now = new Date(NOW.getTime() + 25 * HOUR_MS);
      await insertHealthy(d.staging, 'staging', 100, clock.now, 24 * HOUR_MS);
      // A worker whose flags give V2 everywhere, but whose gate took the
      // legacy path for a send within the stage.
      const used = new PathsUsed();
      const beat = (at: Date) => {
        const flags = Object.fromEntries(
          FLAG_NAMES.map((f) => [f, { value: true, source: 'store' }]),
        ) as Record<FlagName, ProcessFlag>;
        return new WorkerRegistry(d.staging).beat({
          id: 'wk_fallback',
          role: 'worker',
          environment: 'staging',
          host: 'w1',
          pid: 7,
          version: VERSION,
          flags,
          paths: pathsFor(flags),
          pathsUsed: used.snapshot(),
          startedAt: NOW,
          heartbeatAt: at,
        });
      };
      used.note('EINVOICE_SEND', 'V1', new Date(clock.now.getTime() - 60_000));
      await beat(clock.now);

      const held = await controller.advance({ actor: 'ops' });
      used.note('EINVOICE_SEND', 'V2', new Date(clock.now.getTime() - 1_000));
      await beat(clock.now);
      const passed = await controller.advance({ actor: 'ops' });

      expect(held).toMatchObject({ advanced: false, blockedBy: 'gates' });
      expect(
        held.gates.filter((g) => g.status !== 'PASS').map((g) => g.gate),
      ).toEqual(['all_workers_v2']);
      expect(held.gates.find((g) => g.gate === 'all_workers_v2')).toMatchObject(
        {
          status: 'FAIL',
          numbers: {
            onV1: 1,
            samples: ['worker w1:7 wk_fallback V1 for EINVOICE_SEND (used)'],
          },
        },
      );
      expect(passed).toMatchObject({
        advanced: true,
        to: 'PRODUCTION_SOFT_FAIL',
      });
    });

    it('keeps soft-fail while an operation would have been blocked', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      await controller.advance({ actor: 'ops' });
      clock.now = new Date(NOW.getTime() + 25 * HOUR_MS);
      await insertHealthy(d.staging, 'staging', 100, clock.now, 24 * HOUR_MS);
      await controller.advance({ actor: 'ops' });
      const start = clock.now;
      clock.now = new Date(start.getTime() + 25 * HOUR_MS);
      await insertHealthy(
        d.production,
        'production',
        100,
        clock.now,
        24 * HOUR_MS,
      );
      await insertEvents(d.production, [
        {
          at: new Date(clock.now.getTime() - HOUR_MS).toISOString(),
          path: 'V1',
          wouldBlock: true,
        },
      ]);

      const report = await controller.advance({
        actor: 'ops',
        approval: 'Ana Horvat',
      });

      expect(report.advanced).toBe(false);
      expect(
        report.gates.find((g) => g.gate === 'no_would_block'),
      ).toMatchObject({ status: 'FAIL', numbers: { count: 1 } });
      expect(report.gates.find((g) => g.gate === 'all_v2')).toMatchObject({
        status: 'FAIL',
      });
    });

    it('says LEGACY since the rollout tables were installed, not since now, before any step', async () => {
      const { clock, controller } = controllerOn(dbs());

      const first = await controller.status();
      clock.now = new Date(NOW.getTime() + HOUR_MS);
      const later = await controller.status();

      expect(first.stage).toBe('LEGACY');
      expect(first.stageStartedAt).not.toEqual(NOW);
      expect(later.stageStartedAt).toEqual(first.stageStartedAt);
      expect(first.stageStartedAt.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('says a stage started when the transition into it was recorded', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      await controller.advance({ actor: 'ops' });

      clock.now = new Date(NOW.getTime() + 3 * HOUR_MS);
      const status = await controller.status();

      expect(status.stage).toBe('STAGING_ENFORCED');
      expect(status.stageStartedAt).toEqual(NOW);
    });

    it('pauses and resumes with a fresh watch window', async () => {
      const d = dbs();
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const { clock, controller } = controllerOn(d);
      await controller.advance({ actor: 'ops' });

      clock.now = new Date(NOW.getTime() + HOUR_MS);
      await controller.pause({ actor: 'ops', reason: 'CIS outage' });
      await expect(controller.advance({ actor: 'ops' })).rejects.toThrow(
        /PAUSED/,
      );
      clock.now = new Date(NOW.getTime() + 2 * HOUR_MS);
      await controller.resume({ actor: 'ops' });

      const status = await controller.status();
      expect(status.stage).toBe('STAGING_ENFORCED');
      expect(status.stageStartedAt).toEqual(clock.now);
    });
  },
  ['shared'],
);
