import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cohortBucket,
  effectiveValue,
  valueFor,
  type FlagValue,
  type StoredFlag,
} from '../../src/flags/flag-value.js';

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT' as const;
const OUTBOUND = 'FF_INTEGRATION_ACCOUNT_OUTBOUND' as const;

function value(fields: Partial<FlagValue> = {}): FlagValue {
  return {
    enabled: true,
    cohortPercent: null,
    allowCompanyIds: [],
    denyCompanyIds: [],
    ...fields,
  };
}

function stored(
  environmentWide: FlagValue | null,
  overrides: Record<string, FlagValue> = {},
): StoredFlag {
  return { environmentWide, overrides: new Map(Object.entries(overrides)) };
}

const companies = Array.from({ length: 2000 }, () => `co_${randomUUID()}`);

function inCohort(percent: number): Set<string> {
  const v = value({ cohortPercent: percent });
  return new Set(companies.filter((c) => valueFor(ENFORCE, v, c)));
}

describe('precedence of DESIGN.md', () => {
  it('an env false wins over a stored true (kill switch)', () => {
    const result = effectiveValue(OUTBOUND, false, stored(value()), 'co_1');
    expect(result).toEqual({ value: false, source: 'env' });
  });

  it('an env false wins over a company override', () => {
    const s = stored(null, { co_1: value() });
    expect(effectiveValue(ENFORCE, false, s, 'co_1').value).toBe(false);
  });

  it('an env true does not override a stored false (a rollback)', () => {
    const s = stored(value({ enabled: false }));
    const result = effectiveValue(OUTBOUND, true, s);
    expect(result).toEqual({ value: false, source: 'store' });
  });

  it('an env true counts where the store has no value', () => {
    expect(effectiveValue(OUTBOUND, true, undefined)).toEqual({
      value: true,
      source: 'env',
    });
    expect(effectiveValue(OUTBOUND, true, stored(null), 'co_1').value).toBe(
      true,
    );
  });

  it('unset everywhere is off, by default', () => {
    expect(effectiveValue(OUTBOUND, undefined, undefined)).toEqual({
      value: false,
      source: 'default',
    });
  });

  it('a company override beats the environment-wide value', () => {
    const s = stored(value({ enabled: false }), { co_1: value() });
    expect(effectiveValue(ENFORCE, undefined, s, 'co_1').value).toBe(true);
    expect(effectiveValue(ENFORCE, undefined, s, 'co_2').value).toBe(false);
  });
});

describe('cohorts of the enforcement flag', () => {
  it('buckets a company the same way every time', () => {
    expect(cohortBucket(ENFORCE, 'co_a')).toBe(cohortBucket(ENFORCE, 'co_a'));
  });

  it('0% enables nobody and 100% everybody', () => {
    expect(inCohort(0).size).toBe(0);
    expect(inCohort(100).size).toBe(companies.length);
  });

  it('keeps the same companies when 10% grows to 20%', () => {
    const ten = inCohort(10);
    const twenty = inCohort(20);
    for (const c of ten) expect(twenty.has(c)).toBe(true);
    expect(ten.size).toBeGreaterThan(150);
    expect(ten.size).toBeLessThan(250);
    expect(twenty.size).toBeGreaterThan(ten.size);
  });

  it('allow list enables outside the cohort; deny list wins inside', () => {
    const outside = companies.find((c) => !inCohort(10).has(c)) as string;
    const inside = [...inCohort(10)][0] as string;
    const v = value({
      cohortPercent: 10,
      allowCompanyIds: [outside],
      denyCompanyIds: [inside],
    });
    expect(valueFor(ENFORCE, v, outside)).toBe(true);
    expect(valueFor(ENFORCE, v, inside)).toBe(false);
  });

  it('a partial cohort is not on for the environment as a whole', () => {
    expect(valueFor(ENFORCE, value({ cohortPercent: 50 }))).toBe(false);
    expect(valueFor(ENFORCE, value({ cohortPercent: 100 }))).toBe(true);
    expect(valueFor(ENFORCE, value({ enabled: false }), 'co_1')).toBe(false);
  });
});
