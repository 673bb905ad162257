import { performance } from 'node:perf_hooks';
import {
  LEGACY_PROVIDER_KINDS,
  type AccountEnvironment,
  type AccountStatus,
  type Kind,
  type Operation,
} from '../accounts/kinds.js';
import type { FlagName } from '../config/settings.js';
import {
  selfScope,
  tenant,
  type Database,
  type Queryable,
  type Statement,
} from '../db/database.js';
import {
  companyNotFound,
  TenantGateError,
  toTenantGateError,
} from '../errors/tenantgate-error.js';
import type { OperationEvent, Origin } from '../events/operation-event.js';
import type { FlagSource } from '../flags/env-flags.js';
import type { Logger } from '../logging/logger.js';
import type { SecretBinding } from '../vault/envelope.js';
import type { CertificateSigner, RequestAuthoriser } from '../vault/vault.js';
import type { PathsUsed } from '../workers/paths-used.js';
import {
  eventInsert,
  LastUsedThrottle,
  singleEventInsert,
  touchLastUsed,
} from './attempt-statements.js';
import type { RouteCache } from './route-cache.js';
import { decideRoute, type RoutingDecision } from './routing.js';

/** One regulated operation, as a caller asks for it. */
export interface OperationRequest {
  companyId: string;
  operation: Operation;
  /**
   * The integration kind. Default: FISCALIZATION_CIS for fiscal
   * operations, the company's default intermediary for e-invoices.
   */
  kind?: Kind;
  /** An account the caller names explicitly. */
  accountId?: string;
  origin: Origin;
  actor?: string;
  correlationId?: string;
  documentId?: string;
}

/** The account a V2 route runs on: ids and non-secret settings only. */
export interface RoutedAccount {
  id: string;
  companyId: string;
  kind: Kind;
  environment: AccountEnvironment;
  providerConfig: Record<string, unknown>;
}

/** Where an operation goes: the decision and the account, no secret. */
export interface RouteFacts {
  companyId: string;
  kind: Kind;
  decision: RoutingDecision;
  account: RoutedAccount | null;
}

/**
 * The capability of a route, by kind: e-invoice kinds get an API key
 * authoriser; FISCALIZATION_CIS gets a certificate signer, and its
 * authoriser refuses (a certificate has no API key).
 */
export interface Capability {
  authoriser: RequestAuthoriser;
  signer: CertificateSigner | null;
}

/** What the gate hands the operation: a route and its capability. */
export interface Route extends RouteFacts, Capability {}

/** The vault's side of the gate: capabilities, never secrets. */
export interface CredentialOpener {
  apiKeyAuthoriser(envelope: string, binding: SecretBinding): RequestAuthoriser;
  signerFor(envelope: string, binding: SecretBinding): CertificateSigner;
}

export type Attempt<T> =
  | { ok: true; value: T; route: Route }
  | { ok: false; error: TenantGateError; route: RouteFacts | null };

export interface GateSteps<T> {
  /** The protocol call, with the route's capability. */
  execute(route: Route): Promise<T>;
  /**
   * Persists the attempt's business rows in the same transaction as its
   * operation event, so neither exists without the other.
   */
  record?(tx: Queryable, attempt: Attempt<T>): Promise<void>;
  /**
   * The same as `record`, as statements: the gate sends them with the
   * event in one round trip. Preferred on hot paths; ignored when
   * `record` is given.
   */
  statements?(attempt: Attempt<T>): Statement[];
}

export interface GateDeps {
  db: Database;
  vault: CredentialOpener;
  flags: FlagSource;
  logger: Logger;
  deploymentEnvironment: 'staging' | 'production';
  accountEnvironment: AccountEnvironment;
  /**
   * Resolutions kept in memory, invalidated by the database's route
   * notifications: a steady-state operation then makes one round trip
   * (its event). Default none: every operation resolves.
   */
  routes?: RouteCache;
  /**
   * Where the gate notes the path each operation last took (a map
   * update per attempt) for the worker registry. Default none.
   */
  pathsUsed?: PathsUsed;
}

const MIGRATION_FLAG: Record<Operation, FlagName> = {
  EINVOICE_SEND: 'FF_INTEGRATION_ACCOUNT_OUTBOUND',
  EINVOICE_RECEIVE: 'FF_INTEGRATION_ACCOUNT_INBOUND',
  FISCALIZATION: 'FF_INTEGRATION_ACCOUNT_FISCAL',
  EINVOICE_REPORT: 'FF_INTEGRATION_ACCOUNT_FISCAL',
};

/** Errors by which the routing table refuses: the outcome is BLOCKED. */
const REFUSALS = new Set<string>([
  'TENANT_VIOLATION',
  'INTEGRATION_REQUIRED',
  'INTEGRATION_DISABLED',
  'INTEGRATION_NOT_FOUND',
  'COMPANY_NOT_FOUND',
]);

interface ResolutionRow {
  companyExists: boolean;
  eInvoiceKind: Kind | null;
  eInvoiceProvider: string | null;
  legacyKey: string | null;
  legacyCertificate: string | null;
  accountId: string | null;
  accountCompanyId: string | null;
  accountKind: Kind | null;
  accountEnvironment: AccountEnvironment | null;
  accountStatus: AccountStatus | null;
  providerConfig: Record<string, unknown> | null;
  secretEnvelope: string | null;
  namedOwner: string | null;
}

/**
 * The one path every regulated operation takes: resolve the account,
 * check the tenant, decide V1 or V2 by the routing table, open a
 * capability, run the operation, and write exactly one operation event
 * for the attempt, whatever happens.
 */
export class EnforcementGate {
  private readonly lastUsed = new LastUsedThrottle();

  constructor(private readonly deps: GateDeps) {}

  async run<T>(request: OperationRequest, steps: GateSteps<T>): Promise<T> {
    const started = performance.now();
    let facts: RouteFacts | null = null;
    let cached = false;
    let attempt: Attempt<T>;
    try {
      // A cached resolution is decided without a wait: the warm path
      // awaits only the operation and its event.
      const hit = this.cachedResolution(request);
      const planned = hit
        ? this.decide(request, hit, true)
        : await this.plan(request);
      facts = planned.facts;
      cached = planned.cached;
      const { kind, envelope, binding } = planned.sealed;
      const { authoriser, signer } = this.open(kind, envelope, binding);
      const { companyId, kind: routeKind, decision, account } = facts;
      const route: Route = {
        companyId,
        kind: routeKind,
        decision,
        account,
        authoriser,
        signer,
      };
      const value = await steps.execute(route);
      attempt = { ok: true, value, route };
    } catch (thrown) {
      attempt = { ok: false, error: toTenantGateError(thrown), route: facts };
    }

    const durationMs = Math.round(performance.now() - started);
    // Probes try paths on purpose: only real traffic says which path
    // this process uses.
    if (facts && request.origin !== 'probe') {
      this.deps.pathsUsed?.note(
        request.operation,
        facts.decision.path,
        new Date(),
      );
    }
    await this.finish(request, attempt, steps, { durationMs, cached });
    this.log(request, attempt, durationMs);
    if (!attempt.ok) throw attempt.error;
    return attempt.value;
  }

  /**
   * Decides the route (throwing refusals) and returns how to open its
   * capability, so that a secret that fails to open is still reported
   * against the account and path the routing table chose.
   */
  private async plan(request: OperationRequest): Promise<Planned> {
    return this.decide(request, await this.resolve(request), false);
  }

  /** `plan` on a resolution row, cached or just read. */
  private decide(
    request: OperationRequest,
    row: ResolutionRow | undefined,
    cached: boolean,
  ): Planned {
    if (!row?.companyExists) {
      throw companyNotFound(request.companyId);
    }
    const kind =
      request.kind ?? this.defaultKind(request.operation, row, request);
    const account = this.accountFacts(request, row);
    if (account && row.accountKind) {
      assertKindFits(request.operation, row.accountKind, account.id);
    }
    const decision = decideRoute({
      operation: request.operation,
      companyId: request.companyId,
      enforce: this.flag('FF_ENFORCE_INTEGRATION_ACCOUNT', request),
      migrate: this.flag(MIGRATION_FLAG[request.operation], request),
      named: request.accountId !== undefined,
      account,
      legacy: this.legacyEnvelope(kind, row) !== null,
    });
    return this.routeFor(request, kind, decision, row, cached);
  }

  /** The route cache's fresh resolution row for the request, if any. */
  private cachedResolution(
    request: OperationRequest,
  ): ResolutionRow | undefined {
    const key = resolutionKey(request, this.deps.accountEnvironment);
    return this.deps.routes?.get<ResolutionRow>(request.companyId, key);
  }

  /**
   * The resolution row, in one round trip (then cached, unless an
   * invalidation arrived meanwhile). A named account of another company
   * is never cached: its owner's changes notify the owner, not this
   * company.
   */
  private async resolve(
    request: OperationRequest,
  ): Promise<ResolutionRow | undefined> {
    const cache = this.deps.routes;
    const key = resolutionKey(request, this.deps.accountEnvironment);
    const ticket = cache?.ticket() ?? 0;
    const row = await this.read(request);
    const cacheable =
      row?.companyExists === true &&
      row.namedOwner === null &&
      (request.accountId === undefined || row.accountId !== null);
    if (cache && row && cacheable) {
      cache.set(request.companyId, key, Object.freeze(row), ticket);
    }
    return row;
  }

  /**
   * The resolution row, undefined when the company is not visible. One
   * self-scoped statement when the database runs those, else a batch.
   */
  private async read(
    request: OperationRequest,
  ): Promise<ResolutionRow | undefined> {
    const scope = tenant(request.companyId);
    const db = this.deps.db;
    const rows = db.single
      ? await db.single(scope, this.selfScopedLookup(request))
      : undefined;
    if (rows && rows.length > 0) {
      const row = rows[0] as ResolutionRow;
      return row.companyExists ? row : undefined;
    }
    const [batched] = await db.batch(scope, [this.lookup(request)]);
    return batched?.[0] as ResolutionRow | undefined;
  }

  /**
   * The lookup as one statement that scopes itself. The tenant is set
   * in a subquery kept apart (OFFSET 0) and the lookup is a lateral
   * subquery on its value, also kept apart: it cannot run, and so no
   * row-level security is checked, before the tenant is set. In any
   * role but the app role it returns no row; otherwise exactly one,
   * with a null `companyExists` when the company is not visible.
   */
  private selfScopedLookup(request: OperationRequest): Statement {
    return { sql: SELF_SCOPED_LOOKUP_SQL, params: this.lookupParams(request) };
  }

  /** The resolution query, in a transaction already scoped. */
  private lookup(request: OperationRequest): Statement {
    return { sql: LOOKUP_SQL, params: this.lookupParams(request) };
  }

  private lookupParams(request: OperationRequest): unknown[] {
    const fiscal =
      request.operation === 'FISCALIZATION' ||
      request.operation === 'EINVOICE_REPORT';
    return [
      request.companyId,
      request.accountId ?? null,
      request.kind ?? null,
      this.deps.accountEnvironment,
      fiscal,
    ];
  }

  private accountFacts(request: OperationRequest, row: ResolutionRow) {
    if (row.accountId && row.accountCompanyId && row.accountStatus) {
      return {
        id: row.accountId,
        companyId: row.accountCompanyId,
        status: row.accountStatus,
      };
    }
    if (request.accountId && row.namedOwner) {
      // Row-level security hid it: it exists under another company.
      return {
        id: request.accountId,
        companyId: row.namedOwner,
        status: 'ACTIVE' as const,
      };
    }
    if (request.accountId) {
      throw new TenantGateError(
        'INTEGRATION_NOT_FOUND',
        'The named integration account does not exist',
        {
          companyId: request.companyId,
          integrationAccountId: request.accountId,
        },
      );
    }
    return null;
  }

  private defaultKind(
    operation: Operation,
    row: ResolutionRow,
    request: OperationRequest,
  ): Kind {
    if (operation === 'FISCALIZATION' || operation === 'EINVOICE_REPORT') {
      return 'FISCALIZATION_CIS';
    }
    if (row.accountKind) return row.accountKind;
    if (row.eInvoiceKind) return row.eInvoiceKind;
    const legacy = LEGACY_PROVIDER_KINDS[row.eInvoiceProvider ?? ''];
    if (legacy) return legacy;
    throw new TenantGateError(
      'INTEGRATION_NOT_FOUND',
      'The company has no default e-invoice intermediary',
      { companyId: request.companyId, field: 'eInvoiceKind' },
    );
  }

  /** The sealed legacy credential for the kind, if the company has one. */
  private legacyEnvelope(kind: Kind, row: ResolutionRow): string | null {
    if (kind === 'FISCALIZATION_CIS') return row.legacyCertificate;
    const providerKind = LEGACY_PROVIDER_KINDS[row.eInvoiceProvider ?? ''];
    return providerKind === kind ? row.legacyKey : null;
  }

  private routeFor(
    request: OperationRequest,
    kind: Kind,
    decision: RoutingDecision,
    row: ResolutionRow,
    cached: boolean,
  ): Planned {
    const companyId = request.companyId;
    if (decision.path === 'V2') {
      const account: RoutedAccount = {
        id: decision.accountId,
        companyId,
        kind: row.accountKind ?? kind,
        environment: row.accountEnvironment ?? this.deps.accountEnvironment,
        providerConfig: { ...row.providerConfig },
      };
      const binding = {
        purpose: 'integration-account' as const,
        companyId,
        accountId: decision.accountId,
      };
      return {
        facts: { companyId, kind: account.kind, decision, account },
        sealed: { kind: account.kind, envelope: row.secretEnvelope, binding },
        cached,
      };
    }
    const binding = {
      purpose:
        kind === 'FISCALIZATION_CIS'
          ? ('legacy-fiscal-certificate' as const)
          : ('legacy-einvoice-key' as const),
      companyId,
    };
    return {
      facts: { companyId, kind, decision, account: null },
      sealed: { kind, envelope: this.legacyEnvelope(kind, row), binding },
      cached,
    };
  }

  /** The capability for the kind: a signer for CIS, else an API key. */
  private open(
    kind: Kind,
    envelope: string | null,
    binding: SecretBinding,
  ): Capability {
    if (kind === 'FISCALIZATION_CIS') {
      return {
        authoriser: NO_API_KEY,
        signer: this.deps.vault.signerFor(envelope ?? '', binding),
      };
    }
    return {
      authoriser: this.deps.vault.apiKeyAuthoriser(envelope ?? '', binding),
      signer: null,
    };
  }

  private flag(name: FlagName, request: OperationRequest): boolean {
    return this.deps.flags.isEnabled(name, {
      environment: this.deps.deploymentEnvironment,
      companyId: request.companyId,
    });
  }

  private async finish<T>(
    request: OperationRequest,
    attempt: Attempt<T>,
    steps: GateSteps<T>,
    run: { durationMs: number; cached: boolean },
  ): Promise<void> {
    const durationMs = run.durationMs;
    const route = attempt.route;
    const error = attempt.ok ? null : attempt.error;
    const blocked = error !== null && REFUSALS.has(error.code);
    const event: OperationEvent = {
      environment: this.deps.deploymentEnvironment,
      companyId: request.companyId,
      integrationAccountId:
        route?.account?.id ??
        (error?.details.integrationAccountId as string | undefined) ??
        null,
      operation: request.operation,
      kind: route?.kind ?? request.kind ?? null,
      path: route?.decision.path ?? null,
      outcome: attempt.ok ? 'SUCCESS' : blocked ? 'BLOCKED' : 'FAILURE',
      wouldBlock: route?.decision.wouldBlock ?? false,
      fallback: route?.decision.fallback ?? false,
      errorName: error?.name ?? null,
      errorCode: error?.code ?? null,
      errorLayer: error?.layer ?? null,
      durationMs,
      origin: request.origin,
      actor: request.actor ?? null,
      correlationId: request.correlationId ?? null,
      documentId: request.documentId ?? null,
    };
    // A route served from the cache is checked as the event commits:
    // an account disabled (or moved) meanwhile is caught here.
    const checkAccount = Boolean(
      run.cached && route?.decision.path === 'V2' && event.integrationAccountId,
    );
    const touch =
      attempt.ok &&
      route?.decision.path === 'V2' &&
      route.account !== null &&
      this.lastUsed.due(route.account.id)
        ? touchLastUsed(route.account.id)
        : null;

    const scope = tenant(request.companyId);
    let eventRows: unknown[];
    try {
      eventRows = await this.write(scope, steps, attempt, touch, {
        event,
        checkAccount,
      });
    } catch (error) {
      if (touch && route?.account) this.lastUsed.undo(route.account.id);
      throw error;
    }
    const active = (eventRows[0] as { accountActive?: boolean } | undefined)
      ?.accountActive;
    if (checkAccount && active === false) {
      this.staleRoute(request, event);
    }
  }

  /**
   * Business rows, the event and maybe a touch: one transaction. The
   * event alone (the steady state) is one self-scoped statement when
   * the database can run it so; else, or when the session turned out
   * not to be the app role, it goes in a batch like the rest.
   */
  private async write<T>(
    scope: ReturnType<typeof tenant>,
    steps: GateSteps<T>,
    attempt: Attempt<T>,
    touch: Statement | null,
    e: { event: OperationEvent; checkAccount: boolean },
  ): Promise<unknown[]> {
    const business = steps.record ? [] : (steps.statements?.(attempt) ?? []);
    const db = this.deps.db;
    if (!steps.record && !touch && business.length === 0 && db.single) {
      const rows = await db.single(scope, singleEventInsert(e.event, e));
      if (rows && rows.length > 0) return rows;
    }
    const insert = eventInsert(e.event, e);
    if (steps.record) {
      const record = steps.record;
      return this.deps.db.transaction(scope, async (tx) => {
        await record(tx, attempt);
        if (touch) await tx.query(touch.sql, touch.params);
        return tx.query(insert.sql, insert.params);
      });
    }
    const results = await db.batch(scope, [
      ...business,
      ...(touch ? [touch] : []),
      insert,
    ]);
    return results.at(-1) ?? [];
  }

  /**
   * The cached route's account was no longer ACTIVE (or no longer the
   * company's) when the event committed: the operation ran on a route
   * resolved before the change reached this process. The event stays
   * as it happened; the company's routes are dropped, so the next
   * operation resolves afresh and is refused.
   */
  private staleRoute(request: OperationRequest, event: OperationEvent): void {
    this.deps.routes?.forget(request.companyId);
    this.logFor(request).warn({
      event: 'enforcement.route_changed_in_flight',
      integrationAccountId: event.integrationAccountId,
      outcome: event.outcome,
    });
  }

  /** The request's logger: its ids on every line. */
  private logFor(request: OperationRequest): Logger {
    return this.deps.logger.child({
      companyId: request.companyId,
      operation: request.operation,
      correlationId: request.correlationId,
    });
  }

  /**
   * The attempt's log lines. Nothing is built (no child logger, no
   * fields) when the logger would drop them: the hot path's cost.
   */
  private log<T>(
    request: OperationRequest,
    attempt: Attempt<T>,
    durationMs: number,
  ) {
    const route = attempt.route;
    const logger = this.deps.logger;
    const wouldBlock =
      route?.decision.wouldBlock === true && logger.isLevelEnabled('warn');
    if (!wouldBlock && !logger.isLevelEnabled(attempt.ok ? 'info' : 'error')) {
      return;
    }
    const log = this.logFor(request);
    const fields = {
      integrationAccountId: route?.account?.id ?? null,
      kind: route?.kind,
      path: route?.decision.path ?? null,
      wouldBlock: route?.decision.wouldBlock ?? false,
      fallback: route?.decision.fallback ?? false,
      durationMs,
    };
    if (route?.decision.wouldBlock) {
      log.warn({ event: 'enforcement.would_block', ...fields });
    }
    if (attempt.ok) {
      log.info({ event: 'operation.succeeded', ...fields });
      return;
    }
    const e = attempt.error;
    log.error({
      event: REFUSALS.has(e.code) ? 'enforcement.blocked' : 'operation.failed',
      ...fields,
      integrationAccountId:
        fields.integrationAccountId ?? e.details.integrationAccountId ?? null,
      name: e.name,
      code: e.code,
      severity: e.severity,
      retryable: e.retryable,
      details: e.details,
    });
  }
}

/** The resolution query; `company` is the company id's SQL. */
function lookupSql(company: string): string {
  return `SELECT true AS "companyExists",
              c."eInvoiceKind", c."eInvoiceProvider",
              c."eInvoiceApiKeyEncrypted" AS "legacyKey",
              c."fiscalCertificateEncrypted" AS "legacyCertificate",
              a.id AS "accountId", a."companyId" AS "accountCompanyId",
              a.kind AS "accountKind",
              a.environment AS "accountEnvironment",
              a.status AS "accountStatus", a."providerConfig",
              a."secretEnvelope",
              CASE WHEN $2::text IS NOT NULL AND a.id IS NULL
                THEN tenantgate_account_owner($2) END AS "namedOwner"
         FROM "Company" c
         LEFT JOIN "IntegrationAccount" a ON a."companyId" = c.id AND (
           CASE WHEN $2::text IS NOT NULL THEN a.id = $2
           ELSE a.kind = COALESCE($3, CASE WHEN $5 THEN 'FISCALIZATION_CIS'
                  ELSE COALESCE(c."eInvoiceKind", CASE c."eInvoiceProvider"
                    WHEN 'eposlovanje' THEN 'EINVOICE_EPOSLOVANJE'
                    WHEN 'fina' THEN 'EINVOICE_FINA'
                    WHEN 'ie-racuni' THEN 'EINVOICE_IE_RACUNI'
                    WHEN 'moj-eracun' THEN 'EINVOICE_MOJ_ERACUN' END) END)
                AND a.environment = $4 END)
        WHERE c.id = ${company}`;
}

/** The resolution query, its company id the first parameter. */
const LOOKUP_SQL = lookupSql('$1');

/**
 * The lookup as one statement that scopes itself. The tenant is set
 * in a subquery kept apart (OFFSET 0) and the lookup is a lateral
 * subquery on its value, also kept apart: it cannot run, and so no
 * row-level security is checked, before the tenant is set. In any
 * role but the app role it returns no row; otherwise exactly one,
 * with a null `companyExists` when the company is not visible.
 */
const SELF_SCOPED_LOOKUP_SQL = (() => {
  const { tenant: setTenant, guard } = selfScope('$1');
  return `SELECT r.* FROM
         (SELECT ${setTenant} AS tenant WHERE ${guard} OFFSET 0) s
         LEFT JOIN LATERAL (${lookupSql('s.tenant')} OFFSET 0) r ON true`;
})();

interface Planned {
  facts: RouteFacts;
  /**
   * The sealed credential the route's capability is opened from (data,
   * not a closure: nothing is allocated per call but plain objects).
   */
  sealed: { kind: Kind; envelope: string | null; binding: SecretBinding };
  /** The resolution came from the route cache. */
  cached: boolean;
}

/** What a resolution depends on besides the company: its cache key. */
export function resolutionKey(
  request: Pick<OperationRequest, 'operation' | 'kind' | 'accountId'>,
  environment: AccountEnvironment,
): string {
  const fiscal =
    request.operation === 'FISCALIZATION' ||
    request.operation === 'EINVOICE_REPORT';
  const kind = request.kind ?? '';
  return `${environment}|${fiscal ? 'F' : 'E'}|${kind}|${request.accountId ?? ''}`;
}

/** The authoriser of a certificate route: there is no API key. */
const NO_API_KEY: RequestAuthoriser = {
  keyVersion: 'none',
  authorise() {
    throw new TenantGateError(
      'INTERNAL',
      'A FISCALIZATION_CIS route signs with a certificate; it has no API key',
    );
  },
};

/** A named account must be of a kind the operation can use. */
function assertKindFits(operation: Operation, kind: Kind, accountId: string) {
  const fiscal =
    operation === 'FISCALIZATION' || operation === 'EINVOICE_REPORT';
  if (fiscal === (kind === 'FISCALIZATION_CIS')) return;
  throw new TenantGateError(
    'INVALID_INPUT',
    `A ${kind} account cannot run ${operation}`,
    {
      field: 'accountId',
      rule: 'account-kind-fits-operation',
      integrationAccountId: accountId,
      operation,
      kind,
    },
  );
}
