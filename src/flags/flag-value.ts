import { createHash } from 'node:crypto';
import type { FlagName } from '../config/settings.js';

export type DeploymentEnvironment = 'staging' | 'production';

/**
 * A stored flag value. `cohortPercent` null means "every company";
 * cohorts and allow/deny lists exist for the enforcement flag only.
 */
export interface FlagValue {
  enabled: boolean;
  cohortPercent: number | null;
  allowCompanyIds: string[];
  denyCompanyIds: string[];
}

/** One row of the flag store. `companyId` null: environment-wide. */
export interface FlagRow extends FlagValue {
  flag: FlagName;
  environment: DeploymentEnvironment;
  companyId: string | null;
  updatedAt: Date;
  updatedBy: string;
}

/** Where an effective value came from. */
export type ValueSource = 'env' | 'store' | 'default';

export interface EffectiveValue {
  value: boolean;
  source: ValueSource;
}

/** The flag that may roll out to a cohort of companies. */
export const COHORT_FLAG: FlagName = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

const BUCKETS = 10_000;

/**
 * The company's bucket in [0, 10000) for a flag: a stable hash of the
 * flag name and the company id. A company in a 10% cohort (bucket below
 * 1000) stays in it when the cohort grows to 20%.
 */
export function cohortBucket(flag: FlagName, companyId: string): number {
  const digest = createHash('sha256').update(`${flag}:${companyId}`).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/**
 * The stored value for one company (or, without a company, for the
 * environment as a whole: on only when on for every company).
 */
export function valueFor(
  flag: FlagName,
  value: FlagValue,
  companyId?: string,
): boolean {
  if (!value.enabled) return false;
  if (companyId === undefined) return isFullyOn(value);
  if (value.denyCompanyIds.includes(companyId)) return false;
  if (value.allowCompanyIds.includes(companyId)) return true;
  if (value.cohortPercent === null) return true;
  return cohortBucket(flag, companyId) < value.cohortPercent * 100;
}

/** On for every company: enabled, no partial cohort, nobody denied. */
export function isFullyOn(value: FlagValue | null): boolean {
  if (value === null || !value.enabled) return false;
  const everyone = value.cohortPercent === null || value.cohortPercent === 100;
  return everyone && value.denyCompanyIds.length === 0;
}

/** The store's rows for one flag in one environment. */
export interface StoredFlag {
  environmentWide: FlagValue | null;
  overrides: ReadonlyMap<string, FlagValue>;
}

/**
 * Precedence of DESIGN.md: an `FF_*` variable set to false always wins
 * (a kill switch); otherwise a company override, then the environment's
 * stored value; an `FF_*` variable set to true counts only where the
 * store has no value. Unset everywhere means off.
 */
export function effectiveValue(
  flag: FlagName,
  envValue: boolean | undefined,
  stored: StoredFlag | undefined,
  companyId?: string,
): EffectiveValue {
  if (envValue === false) return { value: false, source: 'env' };
  const override =
    companyId === undefined ? undefined : stored?.overrides.get(companyId);
  if (override) return { value: override.enabled, source: 'store' };
  if (stored?.environmentWide) {
    return {
      value: valueFor(flag, stored.environmentWide, companyId),
      source: 'store',
    };
  }
  if (envValue === true) return { value: true, source: 'env' };
  return { value: false, source: 'default' };
}
