import { randomUUID } from 'node:crypto';
import type { IntermediaryDirectory } from '../einvoice/outbound.js';
import type { EnforcementGate } from '../enforcement/gate.js';
import { toTenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';

/**
 * The designated probe companies of one environment: one with only a
 * legacy ePoslovanje key (its attempt must be blocked once enforcement
 * is on) and one with an ePoslovanje integration account (its attempt
 * must succeed on V2).
 */
export interface ProbeTenants {
  legacyCompanyId: string;
  v2CompanyId: string;
}

/** What a probe runs through: this process's gate and intermediaries. */
export interface ProbeDeps {
  gate: EnforcementGate;
  intermediaries: IntermediaryDirectory;
  logger: Logger;
  /** The environment the gate runs in (recorded on the events). */
  environment: 'staging' | 'production';
  now?: () => Date;
}

/** One probe attempt, as its operation event records it. */
export interface ProbeAttempt {
  companyId: string;
  /** The path taken when it ran; null when refused. */
  path: 'V1' | 'V2' | null;
  outcome: 'SUCCESS' | 'BLOCKED' | 'FAILURE';
  errorName: string | null;
}

/** The two attempts of one probe and what they prove. */
export interface ProbeReport {
  environment: 'staging' | 'production';
  at: string;
  correlationId: string;
  legacy: ProbeAttempt;
  v2: ProbeAttempt;
  /** The legacy attempt was refused with IntegrationRequiredError. */
  enforcementLive: boolean;
  /** The V2 attempt reached the intermediary on V2. */
  v2Works: boolean;
}

/** Gate refusals: the routing table said no before any call. */
const REFUSED = new Set([
  'TENANT_VIOLATION',
  'INTEGRATION_REQUIRED',
  'INTEGRATION_DISABLED',
  'INTEGRATION_NOT_FOUND',
  'COMPANY_NOT_FOUND',
]);

/**
 * A synthetic regulated operation per probe company: an e-invoice send
 * attempt through the gate whose protocol step is the intermediary's
 * `ping` (no document leaves). Each writes one operation event with
 * origin `probe`, which the "legitimate operations" metrics leave out
 * and the acceptance gates read (`probe_blocked`).
 */
export async function runProbe(
  deps: ProbeDeps,
  tenants: ProbeTenants,
): Promise<ProbeReport> {
  const at = (deps.now ?? (() => new Date()))();
  const correlationId = `probe_${randomUUID()}`;
  const legacy = await attempt(deps, tenants.legacyCompanyId, correlationId);
  const v2 = await attempt(deps, tenants.v2CompanyId, correlationId);
  const report: ProbeReport = {
    environment: deps.environment,
    at: at.toISOString(),
    correlationId,
    legacy,
    v2,
    enforcementLive:
      legacy.outcome === 'BLOCKED' &&
      legacy.errorName === 'IntegrationRequiredError',
    v2Works: v2.outcome === 'SUCCESS' && v2.path === 'V2',
  };
  deps.logger.info({
    event: 'rollout.probe',
    environment: report.environment,
    correlationId,
    enforcementLive: report.enforcementLive,
    v2Works: report.v2Works,
    legacyOutcome: legacy.outcome,
    v2Outcome: v2.outcome,
  });
  return report;
}

async function attempt(
  deps: ProbeDeps,
  companyId: string,
  correlationId: string,
): Promise<ProbeAttempt> {
  try {
    const path = await deps.gate.run(
      {
        companyId,
        operation: 'EINVOICE_SEND',
        origin: 'probe',
        actor: 'probe',
        correlationId,
      },
      {
        execute: async (route) => {
          const client = deps.intermediaries.client(route.kind, route.account);
          await client.ping(route.authoriser);
          return route.decision.path;
        },
      },
    );
    return { companyId, path, outcome: 'SUCCESS', errorName: null };
  } catch (thrown) {
    const error = toTenantGateError(thrown);
    return {
      companyId,
      path: null,
      outcome: REFUSED.has(error.code) ? 'BLOCKED' : 'FAILURE',
      errorName: error.name,
    };
  }
}
