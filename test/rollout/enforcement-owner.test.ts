import { describe, expect, it } from 'vitest';
import { FlagStore } from '../../src/flags/flag-store.js';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import {
  rolloutEnforces,
  setOperatorFlag,
  type OperatorFlagChange,
} from '../../src/rollout/enforcement-owner.js';
import { RolloutStore } from '../../src/rollout/rollout-store.js';
import {
  enforcedAt,
  type ForwardStage,
  type Stage,
} from '../../src/rollout/stages.js';
import { insertCompany } from '../support/builders.js';
import {
  allFlagsOnFor,
  describeRollout,
  healthyBoth,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

function on(
  environment: string,
  extra: Partial<OperatorFlagChange> = {},
): OperatorFlagChange {
  return {
    flag: ENFORCE,
    environment,
    enabled: true,
    actor: 'ops',
    reason: 'x',
    ...extra,
  };
}

/** Records the rollout at `stage` (a fixture: no gates run). */
async function atStage(
  d: RolloutDatabases,
  stage: Stage,
  heldStage: ForwardStage | null = null,
) {
  await new RolloutStore(d.production).transition({
    at: NOW,
    fromStage: 'LEGACY',
    toStage: stage,
    action: 'advance',
    actor: 'fixture',
    reason: 'fixture',
    approval: null,
    heldStage,
    details: {},
  });
}

async function enforcementRows(d: RolloutDatabases) {
  const rows = await new FlagStore(d.production).list();
  return rows.filter((r) => r.flag === ENFORCE && r.enabled);
}

describe('which stages enforce (the controller mapping)', () => {
  it('staging from STAGING_ENFORCED on, production from PRODUCTION_ENFORCED on', () => {
    const stages: ForwardStage[] = [
      'LEGACY',
      'STAGING_ENFORCED',
      'PRODUCTION_SOFT_FAIL',
      'PRODUCTION_ENFORCED',
      'COMPLETE',
    ];
    expect(stages.map((s) => enforcedAt(s, 'staging'))).toEqual([
      false,
      true,
      true,
      true,
      true,
    ]);
    expect(stages.map((s) => enforcedAt(s, 'production'))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
  });

  it('PAUSED keeps its held stage, ROLLED_BACK enforces nowhere', () => {
    const paused = { stage: 'PAUSED', heldStage: 'PRODUCTION_ENFORCED' };
    expect(rolloutEnforces(paused as never, 'production')).toBe(true);
    const back = { stage: 'ROLLED_BACK', heldStage: 'PRODUCTION_ENFORCED' };
    expect(rolloutEnforces(back as never, 'production')).toBe(false);
    expect(rolloutEnforces(back as never, 'staging')).toBe(false);
  });
});

describeRollout(
  'operators cannot switch enforcement on outside the rollout',
  (dbs) => {
    it('refuses production on in LEGACY, naming flag, environment, stage and the command, and writes nothing', async () => {
      const d = dbs();
      const refused = await setOperatorFlag(d.production, on('production'))
        .then(() => null)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'ENFORCEMENT_OWNED_BY_ROLLOUT',
        details: {
          flag: ENFORCE,
          environment: 'production',
          stage: 'LEGACY',
          rule: 'rollout-owns-enforcement',
        },
      });
      const message = (refused as Error).message;
      expect(message).toContain(ENFORCE);
      expect(message).toContain('production');
      expect(message).toContain('LEGACY');
      expect(message).toContain('tenantgate rollout advance');
      expect(await enforcementRows(d)).toEqual([]);
      expect(await new FlagStore(d.production).history()).toEqual([]);
    });

    it('refuses production on in ROLLED_BACK: environment-wide, cohort, allow list and company override', async () => {
      const d = dbs();
      const company = (await insertCompany(d.production)).id;
      await atStage(d, 'ROLLED_BACK', 'PRODUCTION_ENFORCED');
      const attempts: OperatorFlagChange[] = [
        on('production'),
        on('production', { cohortPercent: 10 }),
        on('production', { cohortPercent: 0, allowCompanyIds: [company] }),
        on('production', { companyId: company }),
        on('staging'),
      ];
      for (const attempt of attempts) {
        await expect(
          setOperatorFlag(d.production, attempt),
        ).rejects.toMatchObject({
          code: 'ENFORCEMENT_OWNED_BY_ROLLOUT',
          details: { stage: 'ROLLED_BACK' },
        });
      }
      expect(await enforcementRows(d)).toEqual([]);
    });

    it('refuses production on in PRODUCTION_SOFT_FAIL (the spec keeps it off there)', async () => {
      const d = dbs();
      await atStage(d, 'PRODUCTION_SOFT_FAIL');
      await expect(
        setOperatorFlag(d.production, on('production')),
      ).rejects.toMatchObject({ code: 'ENFORCEMENT_OWNED_BY_ROLLOUT' });
      const staging = await setOperatorFlag(d.production, on('staging'));
      expect(staging.newValue).toMatchObject({ enabled: true });
    });

    it('allows staging on after the controller advanced to STAGING_ENFORCED (and the advance itself is not refused)', async () => {
      const d = dbs();
      await expect(
        setOperatorFlag(d.production, on('staging')),
      ).rejects.toMatchObject({ code: 'ENFORCEMENT_OWNED_BY_ROLLOUT' });
      await allFlagsOnFor(d, 8);
      await healthyBoth(d);
      const controller = new RolloutController({
        control: d.production,
        databases: { staging: d.staging, production: d.production },
        audits: async () => (await sourcesOf(d)).audits,
        logger: createLogger('silent'),
        now: () => NOW,
      });
      const report = await controller.advance({ actor: 'ops' });
      expect(report.advanced).toBe(true);
      expect(report.flagChanges.map((c) => c.newValue?.enabled)).toEqual([
        true,
      ]);

      const change = await setOperatorFlag(
        d.production,
        on('staging', { cohortPercent: 50, reason: 'half the cohort' }),
      );
      expect(change.reason).toBe('half the cohort');
      await expect(
        setOperatorFlag(d.production, on('production')),
      ).rejects.toMatchObject({
        code: 'ENFORCEMENT_OWNED_BY_ROLLOUT',
        details: { stage: 'STAGING_ENFORCED', environment: 'production' },
      });
    });

    it('allows production on at PRODUCTION_ENFORCED and while it is PAUSED', async () => {
      const d = dbs();
      await atStage(d, 'PRODUCTION_ENFORCED');
      const change = await setOperatorFlag(d.production, on('production'));
      expect(change.newValue).toMatchObject({ enabled: true });
      await atStage(d, 'PAUSED', 'PRODUCTION_ENFORCED');
      const again = await setOperatorFlag(d.production, on('production'));
      expect(again.oldValue).toMatchObject({ enabled: true });
    });

    it('always allows off, in every stage', async () => {
      const d = dbs();
      const company = (await insertCompany(d.production)).id;
      for (const stage of ['LEGACY', 'ROLLED_BACK'] as const) {
        await atStage(d, stage, stage === 'LEGACY' ? null : 'STAGING_ENFORCED');
        const off = await setOperatorFlag(d.production, {
          ...on('production'),
          enabled: false,
        });
        expect(off.newValue).toMatchObject({ enabled: false });
        const override = await setOperatorFlag(d.production, {
          ...on('staging', { companyId: company }),
          enabled: false,
        });
        expect(override.newValue).toMatchObject({ enabled: false });
      }
    });

    it('with overrideRollout sets it on and records the override and the stage in the history', async () => {
      const d = dbs();
      await atStage(d, 'ROLLED_BACK', 'PRODUCTION_ENFORCED');
      const change = await setOperatorFlag(
        d.production,
        on('production', { overrideRollout: true, reason: 'incident 42' }),
      );
      expect(change.newValue).toMatchObject({ enabled: true });
      const [latest] = await new FlagStore(d.production).history({
        flag: ENFORCE,
      });
      expect(latest).toMatchObject({
        id: change.id,
        actor: 'ops',
        reason: 'rollout overridden at ROLLED_BACK: incident 42',
      });
    });

    it('still validates the input first and still needs a reason with the override', async () => {
      const d = dbs();
      await expect(
        setOperatorFlag(
          d.production,
          on('production', { overrideRollout: true, reason: ' ' }),
        ),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        details: { field: 'reason' },
      });
      await expect(
        setOperatorFlag(d.production, on('qa')),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        details: { field: 'environment' },
      });
    });

    it('leaves other flags alone in LEGACY', async () => {
      const d = dbs();
      const change = await setOperatorFlag(d.production, {
        ...on('production'),
        flag: 'FF_INTEGRATION_ACCOUNT_OUTBOUND',
      });
      expect(change.newValue).toMatchObject({ enabled: true });
    });
  },
  ['shared'],
);
