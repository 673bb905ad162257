import { describe, expect, it } from 'vitest';
import type { AccountStatus } from '../../src/accounts/kinds.js';
import {
  decideRoute,
  type RoutingDecision,
  type RoutingFacts,
} from '../../src/enforcement/routing.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';

// DESIGN.md, "Routing and enforcement": one `it` per row and outcome.

const COMPANY = 'co_a';
const OTHER_COMPANY = 'co_b';

function facts(overrides: Partial<RoutingFacts> = {}): RoutingFacts {
  return {
    operation: 'EINVOICE_SEND',
    companyId: COMPANY,
    enforce: false,
    migrate: false,
    named: false,
    account: null,
    legacy: false,
    ...overrides,
  };
}

function own(status: AccountStatus) {
  return { id: `ia_own_${status}`, companyId: COMPANY, status };
}

const foreign = {
  id: 'ia_foreign',
  companyId: OTHER_COMPANY,
  status: 'ACTIVE' as AccountStatus,
};

function refusal(f: RoutingFacts): TenantGateError {
  let caught: unknown;
  try {
    decideRoute(f);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TenantGateError);
  const error = caught as TenantGateError;
  expect(error.retryable).toBe(false);
  expect(error.details.companyId).toBe(COMPANY);
  return error;
}

function expectRefusal(
  f: RoutingFacts,
  expected: { code: string; name: string; severity: 'P0' | 'P1' },
): TenantGateError {
  const error = refusal(f);
  expect({
    code: error.code,
    name: error.name,
    severity: error.severity,
  }).toEqual(expected);
  return error;
}

const TENANT_VIOLATION = {
  code: 'TENANT_VIOLATION',
  name: 'TenantViolationError',
  severity: 'P0',
} as const;
const REQUIRED = {
  code: 'INTEGRATION_REQUIRED',
  name: 'IntegrationRequiredError',
  severity: 'P0',
} as const;
const DISABLED = {
  code: 'INTEGRATION_DISABLED',
  name: 'IntegrationDisabledError',
  severity: 'P1',
} as const;
const NOT_FOUND = {
  code: 'INTEGRATION_NOT_FOUND',
  name: 'IntegrationNotFoundError',
  severity: 'P1',
} as const;

const v2 = (accountId: string): RoutingDecision => ({
  path: 'V2',
  accountId,
  fallback: false,
  wouldBlock: false,
});

const MODES = {
  enforcement: { enforce: true, migrate: false },
  'enforcement and migration': { enforce: true, migrate: true },
  migration: { enforce: false, migrate: true },
  'the legacy world': { enforce: false, migrate: false },
} as const;

const INACTIVE: AccountStatus[] = ['DISABLED', 'EXPIRED', 'REVOKED'];

describe('rule 1: another company’s account is a tenant violation', () => {
  for (const [mode, flags] of Object.entries(MODES)) {
    it(`refuses an account named by the caller under ${mode}`, () => {
      const error = expectRefusal(
        facts({ ...flags, named: true, account: foreign, legacy: true }),
        TENANT_VIOLATION,
      );
      expect(error.details).toMatchObject({
        integrationAccountId: foreign.id,
        accountCompanyId: OTHER_COMPANY,
      });
    });

    it(`refuses a resolved account of another company under ${mode}`, () => {
      expectRefusal(
        facts({ ...flags, account: foreign, legacy: true }),
        TENANT_VIOLATION,
      );
    });
  }

  it('refuses another company’s account even when it is disabled', () => {
    expectRefusal(
      facts({ named: true, account: { ...foreign, status: 'DISABLED' } }),
      TENANT_VIOLATION,
    );
  });
});

describe('rule 2: enforcement on', () => {
  const on = MODES.enforcement;

  it('routes an ACTIVE account to V2', () => {
    expect(decideRoute(facts({ ...on, account: own('ACTIVE') }))).toEqual(
      v2(own('ACTIVE').id),
    );
  });

  it('routes an ACTIVE account to V2 even with legacy credentials', () => {
    const f = facts({ ...on, account: own('ACTIVE'), legacy: true });
    expect(decideRoute(f)).toEqual(v2(own('ACTIVE').id));
  });

  for (const status of INACTIVE) {
    it(`refuses a ${status} account with IntegrationDisabledError`, () => {
      const error = expectRefusal(
        facts({ ...on, account: own(status), legacy: true }),
        DISABLED,
      );
      expect(error.details).toMatchObject({
        integrationAccountId: own(status).id,
        status,
      });
    });
  }

  it('refuses no account with IntegrationRequiredError', () => {
    expectRefusal(facts({ ...on }), REQUIRED);
  });

  it('refuses no account with IntegrationRequiredError even with legacy credentials', () => {
    expectRefusal(facts({ ...on, legacy: true }), REQUIRED);
  });

  it('wins over the migration flag', () => {
    expectRefusal(facts({ ...MODES['enforcement and migration'] }), REQUIRED);
  });
});

describe('rule 3: enforcement off, migration flag on', () => {
  const on = MODES.migration;

  it('routes an ACTIVE account to V2', () => {
    const f = facts({ ...on, account: own('ACTIVE'), legacy: true });
    expect(decideRoute(f)).toEqual(v2(own('ACTIVE').id));
  });

  for (const status of INACTIVE) {
    it(`refuses a ${status} account even with legacy credentials (never falls back)`, () => {
      expectRefusal(
        facts({ ...on, account: own(status), legacy: true }),
        DISABLED,
      );
    });
  }

  it('falls back to V1 with legacy credentials and no account, marked would-block', () => {
    expect(decideRoute(facts({ ...on, legacy: true }))).toEqual({
      path: 'V1',
      fallback: true,
      wouldBlock: true,
    });
  });

  it('refuses no account and no legacy credentials with IntegrationNotFoundError', () => {
    expectRefusal(facts({ ...on }), NOT_FOUND);
  });
});

describe('rule 4: the legacy world (both flags off)', () => {
  const off = MODES['the legacy world'];

  it('routes legacy credentials to V1, not would-block, when an ACTIVE account exists', () => {
    const f = facts({ ...off, account: own('ACTIVE'), legacy: true });
    expect(decideRoute(f)).toEqual({
      path: 'V1',
      fallback: false,
      wouldBlock: false,
    });
  });

  it('routes legacy credentials to V1, would-block, when no account exists', () => {
    expect(decideRoute(facts({ ...off, legacy: true }))).toEqual({
      path: 'V1',
      fallback: false,
      wouldBlock: true,
    });
  });

  for (const status of INACTIVE) {
    it(`routes legacy credentials to V1, would-block, when the only account is ${status}`, () => {
      const f = facts({ ...off, account: own(status), legacy: true });
      expect(decideRoute(f)).toEqual({
        path: 'V1',
        fallback: false,
        wouldBlock: true,
      });
    });
  }

  it('routes an ACTIVE account to V2 when there are no legacy credentials', () => {
    expect(decideRoute(facts({ ...off, account: own('ACTIVE') }))).toEqual(
      v2(own('ACTIVE').id),
    );
  });

  for (const status of INACTIVE) {
    it(`refuses a ${status} only account with IntegrationDisabledError`, () => {
      expectRefusal(facts({ ...off, account: own(status) }), DISABLED);
    });
  }

  it('refuses nothing at all with IntegrationNotFoundError', () => {
    expectRefusal(facts({ ...off }), NOT_FOUND);
  });
});

describe('an account named by the caller decides in every mode', () => {
  it('routes a named ACTIVE account to V2 over legacy credentials', () => {
    const f = facts({ named: true, account: own('ACTIVE'), legacy: true });
    expect(decideRoute(f)).toEqual(v2(own('ACTIVE').id));
  });

  it('refuses a named DISABLED account without falling back to legacy', () => {
    const f = facts({ named: true, account: own('DISABLED'), legacy: true });
    expectRefusal(f, DISABLED);
  });
});

describe('every refusal of the routing table', () => {
  it('names the operation and the company, and is never retryable', () => {
    const cases: RoutingFacts[] = [
      facts({ named: true, account: foreign }),
      facts({ enforce: true }),
      facts({ migrate: true, account: own('REVOKED') }),
      facts({}),
    ];
    for (const f of cases) {
      const error = refusal({ ...f, operation: 'FISCALIZATION' });
      expect(error.details.operation).toBe('FISCALIZATION');
    }
  });
});
