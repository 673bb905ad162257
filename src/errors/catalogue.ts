/**
 * Every error TenantGate raises, with its stable code. The code is the
 * contract: callers, dashboards and alerts match on it, never on the
 * message. `docs/error-codes.md` is generated from this table.
 */
export type Severity = 'P0' | 'P1' | 'P2';

/**
 * Where a failure comes from. Rollout gates count `integration` failures
 * towards the error rate; `counterpart` outages (CIS or an intermediary
 * down) are reported apart and pause rather than roll back.
 */
export type ErrorLayer = 'integration' | 'counterpart' | 'input' | 'internal';

export interface ErrorSpec {
  name: string;
  severity: Severity;
  retryable: boolean;
  layer: ErrorLayer;
  description: string;
}

export const ERROR_CATALOGUE = {
  TENANT_VIOLATION: {
    name: 'TenantViolationError',
    severity: 'P0',
    retryable: false,
    layer: 'integration',
    description:
      'An operation named or resolved an integration account that belongs to another company. Never retried, never falls back.',
  },
  INTEGRATION_REQUIRED: {
    name: 'IntegrationRequiredError',
    severity: 'P0',
    retryable: false,
    layer: 'integration',
    description:
      'Enforcement is on and the company has no integration account of the kind the operation needs: the legacy path is refused.',
  },
  INTEGRATION_DISABLED: {
    name: 'IntegrationDisabledError',
    severity: 'P1',
    retryable: false,
    layer: 'integration',
    description:
      'The integration account exists but is DISABLED, EXPIRED or REVOKED. Disabling is deliberate, so there is no fallback to legacy credentials.',
  },
  INTEGRATION_NOT_FOUND: {
    name: 'IntegrationNotFoundError',
    severity: 'P1',
    retryable: false,
    layer: 'integration',
    description:
      'Neither an integration account nor legacy credentials exist for the operation.',
  },
  VAULT_KEY_MISSING: {
    name: 'VaultKeyMissingError',
    severity: 'P0',
    retryable: false,
    layer: 'integration',
    description:
      'A secret was sealed with a master key version that is not in the key ring, or no master key is configured. The CLI and `npm start` exit 2.',
  },
  VAULT_SECRET_UNREADABLE: {
    name: 'VaultSecretUnreadableError',
    severity: 'P0',
    retryable: false,
    layer: 'integration',
    description:
      'A sealed secret failed authentication: wrong master key, tampered ciphertext, or a ciphertext moved to another account or company.',
  },
  VAULT_SECRET_INVALID: {
    name: 'VaultSecretInvalidError',
    severity: 'P1',
    retryable: false,
    layer: 'integration',
    description:
      'A sealed secret opened but cannot serve its purpose (e.g. an API key that is not a valid HTTP header value). Re-provision the secret; the message never quotes it.',
  },
  VAULT_CONFIG_INVALID: {
    name: 'VaultConfigError',
    severity: 'P0',
    retryable: false,
    layer: 'internal',
    description:
      'The master key configuration is malformed (bad key length, unknown active version, unreadable key file). The CLI and `npm start` exit 2.',
  },
  CONFIG_INVALID: {
    name: 'ConfigError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description:
      'An environment setting is malformed; the message names it. The CLI and `npm start` exit 2.',
  },
  DATABASE_UNAVAILABLE: {
    name: 'DatabaseUnavailableError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description:
      'The PostgreSQL database could not be opened: nothing listens at the address, the database does not exist, or the login was refused. The message names the setting or option (DATABASE_URL, --staging-database-url, ...), the host and the database, never the password. The CLI and `npm start` exit 2.',
  },
  DATABASE_BUSY: {
    name: 'DatabaseBusyError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description:
      'Another live process holds the embedded database folder (its lock file names the pid); PGlite allows one process per folder. The CLI and `npm start` exit 2.',
  },
  DATABASE_NOT_ADOPTED: {
    name: 'DatabaseNotAdoptedError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description:
      'The database holds the prior system\'s tables ("Company") but was never adopted: run `tenantgate adopt` first. Nothing was migrated. The CLI and `npm start` exit 2.',
  },
  INVALID_INPUT: {
    name: 'ValidationError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'Input broke a rule; `field` and `rule` say which. Nothing was written.',
  },
  COMPANY_NOT_FOUND: {
    name: 'CompanyNotFoundError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description: 'No company with that id (or not visible to the caller).',
  },
  ACCOUNT_NOT_FOUND: {
    name: 'AccountNotFoundError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'No integration account with that id (or not visible to the caller).',
  },
  ACCOUNT_EXISTS: {
    name: 'AccountExistsError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The company already has an integration account of that kind in that account environment; rotate its secret instead.',
  },
  EINVOICE_NOT_FOUND: {
    name: 'EInvoiceNotFoundError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description: 'No e-invoice with that id for the company.',
  },
  EINVOICE_IN_PROGRESS: {
    name: 'EInvoiceInProgressError',
    severity: 'P2',
    retryable: true,
    layer: 'input',
    description:
      'Another attempt with the same idempotency key is sending right now; ask again for its status.',
  },
  EINVOICE_CONFLICT: {
    name: 'EInvoiceConflictError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The idempotency key was used before for a different document.',
  },
  COUNTERPART_UNAVAILABLE: {
    name: 'CounterpartUnavailableError',
    severity: 'P1',
    retryable: true,
    layer: 'counterpart',
    description:
      'CIS or an intermediary answered 5xx, timed out or could not be reached before it received the request.',
  },
  COUNTERPART_REJECTED: {
    name: 'CounterpartRejectedError',
    severity: 'P2',
    retryable: false,
    layer: 'counterpart',
    description:
      'The counterpart refused the document (validation failure); `details` carries its findings.',
  },
  COUNTERPART_AUTH_FAILED: {
    name: 'CounterpartAuthError',
    severity: 'P1',
    retryable: false,
    layer: 'integration',
    description:
      'The counterpart refused the credentials (401/403): the account secret is wrong, revoked or bound to another OIB.',
  },
  SEND_OUTCOME_UNKNOWN: {
    name: 'SendOutcomeUnknownError',
    severity: 'P1',
    retryable: false,
    layer: 'counterpart',
    description:
      'The request may have reached the counterpart but no reply came back. The document is SEND_UNKNOWN and is never resent blindly.',
  },
  SEND_NOT_RECEIVED: {
    name: 'SendNotReceivedError',
    severity: 'P2',
    retryable: true,
    layer: 'counterpart',
    description:
      "Reconciling a SEND_UNKNOWN document found no trace of it in the intermediary's own listing of outgoing documents after the grace period: it was not received and may be sent again (once).",
  },
  CERTIFICATE_INVALID: {
    name: 'CertificateInvalidError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'A PKCS#12 file does not open with its password, holds no private key with its certificate, or its certificate lacks an OIB or belongs to another OIB; `details.rule` says which.',
  },
  COUNTERPART_REPLY_INVALID: {
    name: 'CounterpartReplyInvalidError',
    severity: 'P1',
    retryable: false,
    layer: 'counterpart',
    description:
      'The counterpart answered, but its reply is malformed or its signature does not verify against the configured CA.',
  },
  INTERNAL: {
    name: 'InternalError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description: 'An unexpected failure; `cause` holds the original.',
  },
  FLAG_STORE_UNAVAILABLE: {
    name: 'FlagStoreUnavailableError',
    severity: 'P1',
    retryable: true,
    layer: 'internal',
    description:
      'The flag store could not be read when the process started, so it has no known values to run with. A running process keeps its last known values instead.',
  },
  AUTH_REQUIRED: {
    name: 'AuthRequiredError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The HTTP API request carried no bearer token, or a token that is unknown or revoked.',
  },
  FORBIDDEN: {
    name: 'ForbiddenError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The API key is valid but may not do this (a tenant key on an operator route).',
  },
  RATE_LIMITED: {
    name: 'RateLimitedError',
    severity: 'P2',
    retryable: true,
    layer: 'input',
    description:
      'The API key made more requests than its limit allows in the window; retry after `Retry-After` seconds.',
  },
  EINVOICE_INVALID: {
    name: 'InvoiceValidationError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The UBL document fails the UBL 2.1 schema or an EN 16931 / HR CIUS business rule; `details.findings` lists each rule, field and path. It is never sent.',
  },
  ROLLOUT_BLOCKED: {
    name: 'RolloutBlockedError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The rollout stays where it is: a gate of the next stage did not pass (`gates` lists each with its numbers) or the stage needs a named approval (`blockedBy`). The evaluation is recorded.',
  },
  ROLLOUT_STAGE_CONFLICT: {
    name: 'RolloutStageConflictError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      "The step does not apply to the rollout's current stage (advance while PAUSED, resume when not paused, rollback at LEGACY, advance past COMPLETE); `rule` names the condition.",
  },
  ENFORCEMENT_OWNED_BY_ROLLOUT: {
    name: 'EnforcementOwnedByRolloutError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      "An operator switched FF_ENFORCE_INTEGRATION_ACCOUNT on (environment-wide, a cohort, an allow list or a company override) in an environment where the rollout's current stage does not enforce (staging before STAGING_ENFORCED, production before PRODUCTION_ENFORCED, any environment when ROLLED_BACK): `tenantgate rollout advance` switches it on when the gates pass. Nothing is written; switching off is never refused; `--override-rollout` (API: `overrideRollout`) allows it and records the override in the flag history.",
  },
  REPORT_REJECTED: {
    name: 'ReportRejectedError',
    severity: 'P1',
    retryable: false,
    layer: 'integration',
    description:
      'The Tax Administration refused a Fiskalizacija 2.0 report: the whole request (S002–S006: signature, certificate, schema, the signer not authorised for the OIB) or, from `assertRecorded`, a record (S007, S009–S012); `details.code` is the S-code and `details.recordNumber` the 1-based record. Nothing of the refused request was recorded.',
  },
  ROUTE_NOT_FOUND: {
    name: 'RouteNotFoundError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      'The HTTP API has no route for this method and path; answered 404 whether or not the request carries a token.',
  },
  FISCAL_REQUEST_NOT_FOUND: {
    name: 'FiscalRequestNotFoundError',
    severity: 'P2',
    retryable: false,
    layer: 'input',
    description:
      "No fiscalization request with this id in the caller's company (another company's request is answered the same way).",
  },
  RECEIPT_NOT_FISCALIZED: {
    name: 'ReceiptNotFiscalizedError',
    severity: 'P2',
    retryable: true,
    layer: 'input',
    description:
      'The receipt has no JIR yet (QUEUED, PROCESSING, FAILED or DEAD), so there is no verification link for its QR code; `rule` is its status.',
  },
  SERVICE_UNAVAILABLE: {
    name: 'ServiceUnavailableError',
    severity: 'P1',
    retryable: false,
    layer: 'internal',
    description:
      'This TenantGate process was started without the service the request needs (the CIS client for fiscalization, the queue for queued submissions); `rule` names it.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * Mistakes in how TenantGate was configured or started, which the
 * operator fixes (a setting, the master keys, the database, another
 * process): the CLI
 * and `npm start` exit 2 for them, as for bad input.
 */
export const CONFIGURATION_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'CONFIG_INVALID',
  'DATABASE_UNAVAILABLE',
  'DATABASE_BUSY',
  'DATABASE_NOT_ADOPTED',
  'VAULT_KEY_MISSING',
  'VAULT_CONFIG_INVALID',
]);

/** The process exit code for an error: 2 for operator mistakes, else 1. */
export function exitCodeOf(code: ErrorCode): 1 | 2 {
  const mistake =
    ERROR_CATALOGUE[code].layer === 'input' || CONFIGURATION_ERRORS.has(code);
  return mistake ? 2 : 1;
}

const LAYER_BY_NAME = new Map<string, ErrorLayer>(
  Object.values(ERROR_CATALOGUE).map((e) => [e.name, e.layer]),
);

/**
 * The layer of an operation event's error: the one it recorded, else
 * the catalogue's for its error name (events written before the layer
 * was recorded), else `internal`.
 */
export function eventErrorLayer(event: {
  errorLayer: string | null;
  errorName: string | null;
}): string {
  return (
    event.errorLayer ?? LAYER_BY_NAME.get(event.errorName ?? '') ?? 'internal'
  );
}
