import type { DeploymentEnvironment } from '../flags/flag-value.js';

/** The rollout stages in order, then the two holding states. */
export const STAGES = [
  'LEGACY',
  'STAGING_ENFORCED',
  'PRODUCTION_SOFT_FAIL',
  'PRODUCTION_ENFORCED',
  'COMPLETE',
  'PAUSED',
  'ROLLED_BACK',
] as const;
export type Stage = (typeof STAGES)[number];

/** A stage of the forward path (not PAUSED or ROLLED_BACK). */
export type ForwardStage = Exclude<Stage, 'PAUSED' | 'ROLLED_BACK'>;

/** Where `advance` goes from each forward stage. */
export const NEXT_STAGE: Record<ForwardStage, ForwardStage | null> = {
  LEGACY: 'STAGING_ENFORCED',
  STAGING_ENFORCED: 'PRODUCTION_SOFT_FAIL',
  PRODUCTION_SOFT_FAIL: 'PRODUCTION_ENFORCED',
  PRODUCTION_ENFORCED: 'COMPLETE',
  COMPLETE: null,
};

/**
 * The environment each stage watches (its traffic decides acceptance
 * and rollback); null when there is nothing to watch.
 */
export const WATCHED_ENVIRONMENT: Record<
  ForwardStage,
  DeploymentEnvironment | null
> = {
  LEGACY: null,
  STAGING_ENFORCED: 'staging',
  PRODUCTION_SOFT_FAIL: 'production',
  PRODUCTION_ENFORCED: 'production',
  COMPLETE: 'production',
};

/** The enforcement flag each stage sets when entered, per environment. */
export const ENFORCEMENT_ON_ENTRY: Record<
  ForwardStage,
  Partial<Record<DeploymentEnvironment, boolean>>
> = {
  LEGACY: {},
  STAGING_ENFORCED: { staging: true },
  // Spec: "Keep FF_ENFORCE_INTEGRATION_ACCOUNT=false" in production.
  PRODUCTION_SOFT_FAIL: { production: false },
  PRODUCTION_ENFORCED: { production: true },
  COMPLETE: {},
};

/**
 * Whether the controller has switched enforcement on in `environment`
 * once a rollout reaches `stage`: the last value `ENFORCEMENT_ON_ENTRY`
 * set on the way there (off when none did). Staging from
 * STAGING_ENFORCED on, production from PRODUCTION_ENFORCED on (the soft
 * fail stage keeps it off, as the spec says).
 */
export function enforcedAt(
  stage: ForwardStage,
  environment: DeploymentEnvironment,
): boolean {
  let on = false;
  for (const s of STAGES.filter(isForward)) {
    on = ENFORCEMENT_ON_ENTRY[s][environment] ?? on;
    if (s === stage) break;
  }
  return on;
}

/** Stages during which enforcement is on somewhere and can break. */
export function enforcing(stage: Stage): boolean {
  return stage === 'STAGING_ENFORCED' || stage === 'PRODUCTION_ENFORCED';
}

export function isForward(stage: string): stage is ForwardStage {
  return stage in NEXT_STAGE;
}
