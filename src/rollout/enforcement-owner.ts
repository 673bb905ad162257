import type { Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import {
  FlagStore,
  type FlagChange,
  type SetFlagInput,
} from '../flags/flag-store.js';
import {
  COHORT_FLAG,
  type DeploymentEnvironment,
} from '../flags/flag-value.js';
import { RolloutStore, type RolloutState } from './rollout-store.js';
import { enforcedAt } from './stages.js';

/**
 * Whether the rollout's state lets enforcement be on in `environment`:
 * a PAUSED rollout keeps its held stage's flags; ROLLED_BACK does not.
 */
export function rolloutEnforces(
  state: Pick<RolloutState, 'stage' | 'heldStage'>,
  environment: DeploymentEnvironment,
): boolean {
  if (state.stage === 'ROLLED_BACK') return false;
  if (state.stage === 'PAUSED') {
    return state.heldStage !== null && enforcedAt(state.heldStage, environment);
  }
  return enforcedAt(state.stage, environment);
}

/** A flag change asked for by an operator (the CLI or the API). */
export interface OperatorFlagChange extends SetFlagInput {
  /**
   * Switch enforcement on although the rollout's stage does not enforce
   * in the environment (emergencies, tests). The change's reason then
   * records the override and the stage. Default false.
   */
  overrideRollout?: boolean;
}

/**
 * Sets a flag for an operator. The rollout controller owns switching
 * FF_ENFORCE_INTEGRATION_ACCOUNT on: on (environment-wide, a cohort, an
 * allow list or a company override) where the rollout state kept in
 * `db` does not enforce is refused with ENFORCEMENT_OWNED_BY_ROLLOUT
 * unless `overrideRollout`. Off, and every other flag, is never
 * refused. The check and the change run as one stage change (see
 * `RolloutStore.exclusive`), so an advance or a rollback cannot slip
 * between them. The controller and the rollback write `FlagStore`
 * directly: they are the owner.
 */
export async function setOperatorFlag(
  db: Database,
  input: OperatorFlagChange,
): Promise<FlagChange> {
  const { overrideRollout = false, ...change } = input;
  const flags = new FlagStore(db);
  flags.check(change);
  if (change.flag !== COHORT_FLAG || !change.enabled) return flags.set(change);

  const rollout = new RolloutStore(db);
  return rollout.exclusive(async () => {
    const environment = change.environment as DeploymentEnvironment;
    const state = await rollout.state(new Date());
    if (rolloutEnforces(state, environment)) return flags.set(change);
    if (!overrideRollout) throw ownedByRollout(environment, state.stage);
    return flags.set({
      ...change,
      reason: `rollout overridden at ${state.stage}: ${change.reason.trim()}`,
    });
  });
}

function ownedByRollout(
  environment: DeploymentEnvironment,
  stage: string,
): TenantGateError {
  return new TenantGateError(
    'ENFORCEMENT_OWNED_BY_ROLLOUT',
    `${COHORT_FLAG}: on in ${environment} is the rollout's to switch and ` +
      `the rollout is at ${stage}, where ${environment} does not ` +
      'enforce: use `tenantgate rollout advance` (its gates decide), or ' +
      '--override-rollout with a reason in an emergency',
    {
      field: 'enabled',
      rule: 'rollout-owns-enforcement',
      flag: COHORT_FLAG,
      environment,
      stage,
    },
  );
}
