import {
  invalidInput,
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import type {
  DocumentStatus,
  IntermediaryClient,
  RequestAuthoriser,
  SendOptions,
  SendResult,
} from './intermediary.js';

export interface EposlovanjeClientOptions {
  /**
   * Origin of the service, e.g. `https://test.eposlovanje.hr`; the
   * client adds the API base path `/api/v2/`.
   */
  baseUrl: string;
  /** Our software id, sent with every document. */
  softwareId: string;
  /** Time allowed for one request, reply included. Default 30 000 ms. */
  timeoutMs?: number;
}

type Operation = 'send' | 'status' | 'ping';

interface Call {
  operation: Operation;
  method: 'GET' | 'POST';
  path: string;
  auth: RequestAuthoriser;
  body?: string;
  signal?: AbortSignal;
}

interface Reply {
  status: number;
  body: unknown;
}

const KIND = 'EINVOICE_EPOSLOVANJE';
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_FINDINGS = 100;
const MAX_FINDING_LENGTH = 2_000;

/**
 * Error codes (of the fetch error's causes) that mean the connection
 * never opened, so the request cannot have reached the service.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The ePoslovanje API v2 client (PROTOCOLS.md, "Intermediaries"): the
 * raw API key goes in `Authorization`, put there by the authoriser.
 * Error details carry the status and the service's findings, never the
 * headers or the document.
 */
export function createEposlovanjeClient(
  options: EposlovanjeClientOptions,
): IntermediaryClient {
  const { apiRoot, softwareId, timeoutMs } = checkOptions(options);
  const call = (c: Call) => exchange(apiRoot, timeoutMs, c);

  return {
    kind: KIND,

    async send(doc, auth, opts: SendOptions = {}): Promise<SendResult> {
      if (doc.ublXml === '') {
        throw invalidInput('ublXml', 'required', 'The UBL document is empty');
      }
      const body = JSON.stringify({ document: doc.ublXml, softwareId });
      const reply = await call({
        operation: 'send',
        method: 'POST',
        path: 'document/send',
        auth,
        body,
        signal: opts.signal,
      });
      return toSendResult(reply);
    },

    async status(providerRef, auth): Promise<DocumentStatus> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No document id');
      }
      const path = `document/status/${encodeURIComponent(providerRef)}`;
      const reply = await call({
        operation: 'status',
        method: 'GET',
        path,
        auth,
      });
      return toDocumentStatus(reply, providerRef);
    },

    async ping(auth): Promise<void> {
      await call({ operation: 'ping', method: 'GET', path: 'ping', auth });
    },
  };
}

function checkOptions(options: EposlovanjeClientOptions) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!/^https?:\/\/[^/]/.test(options.baseUrl)) {
    throw invalidInput('baseUrl', 'http_url', 'baseUrl must be an http(s) URL');
  }
  if (options.softwareId.trim() === '') {
    throw invalidInput('softwareId', 'required', 'softwareId is required');
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw invalidInput('timeoutMs', 'positive', 'timeoutMs must be > 0');
  }
  const apiRoot = `${options.baseUrl.replace(/\/+$/, '')}/api/v2/`;
  return { apiRoot, softwareId: options.softwareId, timeoutMs };
}

/**
 * One request and its parsed reply. Non-2xx replies and transport
 * failures become TenantGateErrors here.
 */
async function exchange(
  apiRoot: string,
  timeoutMs: number,
  call: Call,
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const ownNames = new Set(Object.keys(headers));
  call.auth.authorise(headers);
  const secrets = Object.entries(headers)
    .filter(([name]) => !ownNames.has(name))
    .map(([, value]) => value);

  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = call.signal
    ? AbortSignal.any([timeout, call.signal])
    : timeout;

  let reply: Reply;
  try {
    const response = await fetch(apiRoot + call.path, {
      method: call.method,
      headers,
      body: call.body,
      signal,
    });
    reply = { status: response.status, body: parseJson(await response.text()) };
  } catch (error) {
    throw transportError(call.operation, error, {
      timedOut: timeout.aborted,
      aborted: call.signal?.aborted ?? false,
      timeoutMs,
    });
  }

  if (reply.status >= 200 && reply.status < 300) return reply;
  throw httpError(call.operation, reply, secrets);
}

function toSendResult(reply: Reply): SendResult {
  const id = field(reply.body, 'id');
  if (typeof id !== 'string' && typeof id !== 'number') {
    // Accepted (2xx) but without an id we cannot find it again.
    throw new TenantGateError(
      'SEND_OUTCOME_UNKNOWN',
      'ePoslovanje accepted the request but its reply has no document id',
      { providerKind: KIND, operation: 'send', status: reply.status },
    );
  }
  const insertedOn = field(reply.body, 'insertedOn');
  const message = field(reply.body, 'message');
  return {
    providerRef: String(id),
    acceptedAt:
      typeof insertedOn === 'string' ? insertedOn : new Date().toISOString(),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

function toDocumentStatus(reply: Reply, providerRef: string): DocumentStatus {
  const status = field(reply.body, 'status');
  if (typeof status !== 'string') {
    throw new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      'ePoslovanje answered a status request without a status',
      { providerKind: KIND, operation: 'status', status: reply.status },
    );
  }
  const id = field(reply.body, 'id');
  const ref = typeof id === 'string' || typeof id === 'number' ? id : '';
  return { providerRef: String(ref) || providerRef, status };
}

function httpError(
  operation: Operation,
  reply: Reply,
  secrets: string[],
): TenantGateError {
  const details: ErrorDetails = {
    providerKind: KIND,
    operation,
    status: reply.status,
  };
  const providerMessage = field(reply.body, 'error');
  if (typeof providerMessage === 'string') {
    details.providerMessage = scrub(providerMessage, secrets);
  }

  if (reply.status === 401 || reply.status === 403) {
    return new TenantGateError(
      'COUNTERPART_AUTH_FAILED',
      'ePoslovanje refused the API key',
      details,
    );
  }
  if (reply.status === 408 || reply.status === 429 || reply.status >= 500) {
    return new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      'ePoslovanje is unavailable',
      details,
    );
  }
  details.errors = findings(field(reply.body, 'details'), secrets);
  return new TenantGateError(
    'COUNTERPART_REJECTED',
    'ePoslovanje rejected the request',
    details,
  );
}

/**
 * A failure without an HTTP reply. Only a connection that never opened
 * proves the service got nothing; otherwise a send's outcome is unknown.
 * Reads (status, ping) are safe to repeat, so for them it is simply
 * unavailable.
 */
function transportError(
  operation: Operation,
  error: unknown,
  how: { timedOut: boolean; aborted: boolean; timeoutMs: number },
): TenantGateError {
  const codes = errorCodes(error);
  const details: ErrorDetails = { providerKind: KIND, operation, codes };
  const neverSent =
    !how.timedOut &&
    !how.aborted &&
    codes.length > 0 &&
    codes.every((code) => NOT_SENT_CODES.has(code));

  if (neverSent || operation !== 'send') {
    return new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      'ePoslovanje could not be reached',
      { ...details, reason: transportReason(neverSent, how) },
      { cause: error },
    );
  }
  return new TenantGateError(
    'SEND_OUTCOME_UNKNOWN',
    'No reply from ePoslovanje; the document may have been received',
    {
      ...details,
      reason: transportReason(false, how),
      timeoutMs: how.timeoutMs,
    },
    { cause: error },
  );
}

function transportReason(
  neverSent: boolean,
  how: { timedOut: boolean; aborted: boolean },
): string {
  if (neverSent) return 'not_connected';
  if (how.timedOut) return 'timeout';
  if (how.aborted) return 'aborted';
  return 'connection_lost';
}

/** The `code`s along the cause chain (undici nests the socket error). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 5) return [];
  const { code, cause, errors } = error as {
    code?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const nested = Array.isArray(errors) ? errors : [];
  return [
    ...(typeof code === 'string' ? [code] : []),
    ...errorCodes(cause, depth + 1),
    ...nested.flatMap((e: unknown) => errorCodes(e, depth + 1)),
  ];
}

/** The service's findings as strings, bounded, without our secrets. */
function findings(value: unknown, secrets: string[]): string[] {
  const list = Array.isArray(value)
    ? value
    : value === undefined
      ? []
      : [value];
  return list.slice(0, MAX_FINDINGS).map((item: unknown) => {
    const text = typeof item === 'string' ? item : JSON.stringify(item);
    return scrub(text, secrets).slice(0, MAX_FINDING_LENGTH);
  });
}

// A service that echoes the key back must not leak it into our errors.
function scrub(text: string, secrets: string[]): string {
  return secrets.reduce(
    (out, secret) =>
      secret === '' ? out : out.split(secret).join('[redacted]'),
    text,
  );
}

function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  return (body as Record<string, unknown>)[name];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
