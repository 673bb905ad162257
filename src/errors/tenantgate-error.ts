import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.js';

/** Ids and facts that travel with an error. Never a secret. */
export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type. `code` is stable, `name` is the catalogue name
 * (`TenantViolationError`, ...) so logs and operation events match the
 * names the rollout spec monitors. Context lives in `details`, never in
 * an edited message.
 */
export class TenantGateError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(
    code: ErrorCode,
    message: string,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.name = ERROR_CATALOGUE[code].name;
    this.details = details;
  }

  get severity() {
    return ERROR_CATALOGUE[this.code].severity;
  }

  get retryable(): boolean {
    return ERROR_CATALOGUE[this.code].retryable;
  }

  get layer() {
    return ERROR_CATALOGUE[this.code].layer;
  }

  toJSON() {
    return {
      name: this.name,
      code: this.code,
      severity: this.severity,
      retryable: this.retryable,
      message: this.message,
      details: this.details,
    };
  }
}

/** A rule broken by input: names the field and the rule. */
export function invalidInput(
  field: string,
  rule: string,
  message: string,
  details: ErrorDetails = {},
): TenantGateError {
  return new TenantGateError('INVALID_INPUT', message, {
    field,
    rule,
    ...details,
  });
}

/** No company with this id (or not visible to the caller): names it. */
export function companyNotFound(
  companyId: string,
  details: ErrorDetails = {},
): TenantGateError {
  return new TenantGateError(
    'COMPANY_NOT_FOUND',
    `No such company: ${companyId}`,
    { companyId, ...details },
  );
}

/**
 * Normalizes anything thrown into a TenantGateError exactly once, keeping
 * the original as `cause`.
 */
export function toTenantGateError(error: unknown): TenantGateError {
  if (error instanceof TenantGateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TenantGateError('INTERNAL', message, {}, { cause: error });
}

export function isTenantGateError(
  error: unknown,
  code?: ErrorCode,
): error is TenantGateError {
  if (!(error instanceof TenantGateError)) return false;
  return code === undefined || error.code === code;
}
