import {
  ERROR_CATALOGUE,
  type ErrorCode,
  type ErrorLayer,
} from '../errors/catalogue.js';
import {
  TenantGateError,
  toTenantGateError,
} from '../errors/tenantgate-error.js';

/** RFC 9457 problem details, with TenantGate's stable error fields. */
export interface Problem {
  /** `urn:tenantgate:error:<CODE>`: stable, matches docs/error-codes.md. */
  type: string;
  /** The catalogue name (`AccountNotFoundError`, ...). */
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  severity: string;
  retryable: boolean;
  /** The request id: the same value is on every log line of the request. */
  instance: string;
  /** For INVALID_INPUT: the field and the rule it broke. */
  field?: string;
  rule?: string;
  /** Ids of the request's own rows named by the error. */
  eInvoiceId?: string;
  integrationAccountId?: string;
  fiscalRequestId?: string;
  /** ROLLOUT_BLOCKED: `gates` or `approval`, and every gate evaluated. */
  blockedBy?: string;
  gates?: unknown[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * HTTP status per error code. Choices worth a word:
 * - INVALID_INPUT is 422 when the domain refuses a well-formed request,
 *   400 when the request does not match its schema (see `fromFastify`).
 * - INTEGRATION_* are 409: the request is valid but the company's
 *   integration accounts are not in a state that allows it.
 * - Counterpart failures are 502, except COUNTERPART_UNAVAILABLE (503,
 *   retryable) and COUNTERPART_REJECTED (422: the document was refused).
 * A code not listed here gets the status of its layer.
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 422,
  CERTIFICATE_INVALID: 422,
  AUTH_REQUIRED: 401,
  FORBIDDEN: 403,
  TENANT_VIOLATION: 403,
  COMPANY_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  EINVOICE_NOT_FOUND: 404,
  FISCAL_REQUEST_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  RECEIPT_NOT_FISCALIZED: 409,
  SERVICE_UNAVAILABLE: 503,
  ACCOUNT_EXISTS: 409,
  EINVOICE_CONFLICT: 409,
  EINVOICE_IN_PROGRESS: 409,
  INTEGRATION_REQUIRED: 409,
  INTEGRATION_DISABLED: 409,
  INTEGRATION_NOT_FOUND: 409,
  RATE_LIMITED: 429,
  ROLLOUT_BLOCKED: 409,
  ROLLOUT_STAGE_CONFLICT: 409,
  ENFORCEMENT_OWNED_BY_ROLLOUT: 409,
  COUNTERPART_UNAVAILABLE: 503,
  COUNTERPART_REJECTED: 422,
  COUNTERPART_AUTH_FAILED: 502,
  COUNTERPART_REPLY_INVALID: 502,
  SEND_OUTCOME_UNKNOWN: 502,
  FLAG_STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

const LAYER_STATUS: Record<ErrorLayer, number> = {
  input: 400,
  integration: 409,
  counterpart: 502,
  internal: 500,
};

/** The HTTP status of an error code. */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? LAYER_STATUS[ERROR_CATALOGUE[code].layer];
}

/** Detail keys safe to show the caller: its own ids, never another's. */
const SHOWN_DETAILS = [
  'field',
  'rule',
  'eInvoiceId',
  'integrationAccountId',
  'fiscalRequestId',
  'blockedBy',
] as const;

/**
 * The problem document of an error. Internal failures say only that
 * something failed: their message may quote SQL or a stack.
 */
export function toProblem(
  error: TenantGateError,
  requestId: string,
  status: number = statusFor(error.code),
): Problem {
  const spec = ERROR_CATALOGUE[error.code];
  const problem: Problem = {
    type: `urn:tenantgate:error:${error.code}`,
    title: spec.name,
    status,
    detail:
      spec.layer === 'internal'
        ? 'An internal error occurred; quote the request id to an operator.'
        : error.message,
    code: error.code,
    severity: spec.severity,
    retryable: spec.retryable,
    instance: requestId,
  };
  for (const key of SHOWN_DETAILS) {
    const value = error.details[key];
    if (typeof value === 'string') problem[key] = value;
  }
  // Gate numbers are counts and timestamps: safe to show an operator.
  if (error.code === 'ROLLOUT_BLOCKED' && Array.isArray(error.details.gates)) {
    problem.gates = error.details.gates;
  }
  return problem;
}

/** What Fastify itself throws: validation, parsing, body size. */
interface FastifyishError {
  code?: string;
  statusCode?: number;
  validation?: {
    instancePath?: string;
    keyword?: string;
    params?: Record<string, unknown>;
    message?: string;
  }[];
  validationContext?: string;
  message?: string;
}

/**
 * Turns anything thrown in a request into a TenantGateError and its
 * status, once. Fastify's own 4xx errors become INVALID_INPUT naming the
 * field and the rule (schema keyword or Fastify code).
 */
export function classify(thrown: unknown): {
  error: TenantGateError;
  status: number;
} {
  if (thrown instanceof TenantGateError) {
    return { error: thrown, status: statusFor(thrown.code) };
  }
  const f = thrown as FastifyishError;
  const status = f?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { error: fromFastify(f), status: f.validation ? 400 : status };
  }
  const error = toTenantGateError(thrown);
  return { error, status: statusFor(error.code) };
}

/** Field and rule for Fastify's own request errors. */
const FASTIFY_RULES: Record<string, [string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['body', 'json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['body', 'non-empty'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['body', 'max-size'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['content-type', 'supported'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['content-length', 'matches-body'],
};

function fromFastify(f: FastifyishError): TenantGateError {
  const first = f.validation?.[0];
  if (!first) {
    const known = f.code ? FASTIFY_RULES[f.code] : undefined;
    const [field, rule] = known ?? ['request', (f.code ?? 'bad').toLowerCase()];
    return new TenantGateError('INVALID_INPUT', f.message ?? 'Bad request', {
      field,
      rule,
    });
  }
  // ajv names the property at fault in params, not in the path.
  const named =
    first.params?.missingProperty ?? first.params?.additionalProperty;
  const path = (first.instancePath ?? '').replace(/^\//, '');
  const parts = [path, typeof named === 'string' ? named : '']
    .filter((p) => p !== '')
    .join('/');
  const field = parts === '' ? (f.validationContext ?? 'body') : parts;
  const rule = first.keyword ?? 'schema';
  return new TenantGateError(
    'INVALID_INPUT',
    `${field}: ${validationMessage(first)}`,
    { field, rule, location: f.validationContext },
  );
}

/**
 * ajv's message, with what it leaves in params: the property that is
 * not allowed, the values that are.
 */
function validationMessage(first: {
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}): string {
  const message = first.message ?? 'invalid';
  const extra = first.params?.additionalProperty;
  if (first.keyword === 'additionalProperties' && typeof extra === 'string') {
    return `${message} ('${extra}' is not one)`;
  }
  const allowed = first.params?.allowedValues;
  if (first.keyword === 'enum' && Array.isArray(allowed)) {
    return `${message}: ${allowed.map(String).join(', ')}`;
  }
  return message;
}
