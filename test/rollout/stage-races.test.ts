import { expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { FlagStore, snapshotKey } from '../../src/flags/flag-store.js';
import { effectiveValue } from '../../src/flags/flag-value.js';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { noHook } from '../../src/rollout/deploy-hooks.js';
import { Rollback } from '../../src/rollout/rollback.js';
import { insertCompany } from '../support/builders.js';
import {
  allFlagsOnFor,
  describeRollout,
  healthyBoth,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

const FLAG = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

/** One operator's controller over the same databases (another shell). */
function controllerFor(d: RolloutDatabases): RolloutController {
  return new RolloutController({
    control: d.production,
    databases: { staging: d.staging, production: d.production },
    audits: async () => (await sourcesOf(d)).audits,
    logger: createLogger('silent'),
    now: () => NOW,
  });
}

/** The enforcement flag one company gets in `env`, from the store. */
async function enforcementFor(
  db: Database,
  env: 'staging' | 'production',
  companyId: string,
): Promise<boolean> {
  const snapshot = await new FlagStore(db).snapshot();
  const stored = snapshot.get(snapshotKey(FLAG, env));
  return effectiveValue(FLAG, undefined, stored, companyId).value;
}

describeRollout('rollout stage changes from two shells', (dbs) => {
  it('two concurrent advances enter the next stage once', async () => {
    const d = dbs();
    await allFlagsOnFor(d, 8);
    await healthyBoth(d);
    const [a, b] = [controllerFor(d), controllerFor(d)];

    const results = await Promise.allSettled([
      a.advance({ actor: 'ops-a' }),
      b.advance({ actor: 'ops-b' }),
    ]);

    const advanced = results.filter(
      (r) => r.status === 'fulfilled' && r.value.advanced,
    );
    expect(advanced).toHaveLength(1);
    const transitions = await a.store.transitions();
    expect(transitions.map((t) => `${t.fromStage}>${t.toStage}`)).toEqual([
      'LEGACY>STAGING_ENFORCED',
    ]);
    expect((await a.status()).stage).toBe('STAGING_ENFORCED');
  });
});

describeRollout('rollback and company overrides', (dbs) => {
  it('turns off a company override that kept enforcement on', async () => {
    const d = dbs();
    await allFlagsOnFor(d, 8);
    await healthyBoth(d);
    const controller = controllerFor(d);
    await controller.advance({ actor: 'ops' });
    const company = await insertCompany(d.staging, { name: 'Pilot d.o.o.' });
    await new FlagStore(d.staging).set({
      flag: FLAG,
      environment: 'staging',
      companyId: company.id,
      enabled: true,
      actor: 'ops',
      reason: 'pilot company enforced early',
    });
    expect(await enforcementFor(d.staging, 'staging', company.id)).toBe(true);

    const report = await new Rollback(controller, noHook).rollback({
      actor: 'ops',
      reason: 'breach',
    });

    expect(await enforcementFor(d.staging, 'staging', company.id)).toBe(false);
    expect(report.steps[0]?.details).toMatchObject({ overridesOff: 1 });
  });
});
