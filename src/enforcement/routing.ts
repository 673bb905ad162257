import type { AccountStatus, Operation } from '../accounts/kinds.js';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** What the routing table needs to know about one operation. */
export interface RoutingFacts {
  operation: Operation;
  companyId: string;
  /** `FF_ENFORCE_INTEGRATION_ACCOUNT` for this company. */
  enforce: boolean;
  /** The operation's migration flag (`FF_INTEGRATION_ACCOUNT_*`). */
  migrate: boolean;
  /** True when the caller named the account explicitly. */
  named: boolean;
  /** The named account, or the one resolved for (company, kind, env). */
  account: { id: string; companyId: string; status: AccountStatus } | null;
  /** The company still holds usable legacy credentials for the kind. */
  legacy: boolean;
}

export type RoutingDecision =
  | { path: 'V2'; accountId: string; fallback: false; wouldBlock: false }
  | { path: 'V1'; fallback: boolean; wouldBlock: boolean };

/**
 * The routing table of DESIGN.md, in its order. Pure: the gate gathers
 * the facts, this decides, and each rule is a row in the tests. Throws
 * the refusal (TenantViolation, IntegrationRequired, IntegrationDisabled,
 * IntegrationNotFound) rather than returning it.
 */
export function decideRoute(f: RoutingFacts): RoutingDecision {
  const ids = {
    companyId: f.companyId,
    integrationAccountId: f.account?.id ?? null,
    operation: f.operation,
  };

  // Rule 1: another company's account. No fallback, no retry.
  if (f.account && f.account.companyId !== f.companyId) {
    throw new TenantGateError(
      'TENANT_VIOLATION',
      'The integration account belongs to another company',
      { ...ids, accountCompanyId: f.account.companyId },
    );
  }

  const account = f.account;
  const active = account?.status === 'ACTIVE' ? account : null;

  // Rules 2 and 3 (and an explicitly named account in any mode): the
  // account decides; a disabled one never falls back, since disabling
  // is a deliberate act.
  if (f.enforce || f.migrate || f.named) {
    if (active) return v2(active.id);
    if (account) throw disabled(account.status, ids);
  }

  if (f.enforce) {
    throw new TenantGateError(
      'INTEGRATION_REQUIRED',
      'Enforcement is on and the company has no integration account for this operation',
      ids,
    );
  }

  // Rule 3, no account: legacy credentials are a fallback. Rule 4, the
  // legacy world: legacy credentials come first.
  if (f.legacy) {
    return { path: 'V1', fallback: f.migrate, wouldBlock: active === null };
  }
  if (active) return v2(active.id);
  if (account) throw disabled(account.status, ids);

  throw new TenantGateError(
    'INTEGRATION_NOT_FOUND',
    'The company has neither an integration account nor legacy credentials for this operation',
    ids,
  );
}

function v2(accountId: string): RoutingDecision {
  return { path: 'V2', accountId, fallback: false, wouldBlock: false };
}

function disabled(
  status: AccountStatus,
  ids: Record<string, unknown>,
): TenantGateError {
  return new TenantGateError(
    'INTEGRATION_DISABLED',
    `The integration account is ${status}`,
    { ...ids, status },
  );
}
