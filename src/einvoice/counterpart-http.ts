import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import {
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import type { IntermediaryKind, RequestAuthoriser } from './intermediary.js';

// Shared by the Moj-eRačun, IE-Računi and FINA clients: one request over
// node:http(s) (FINA needs an agent with a client certificate) and the
// rules that turn a failed exchange into TenantGateErrors.

/** One request as a client sends it. */
export interface HttpCall {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** An agent for mutual TLS. Default: Node's global agent. */
  agent?: https.Agent;
  /** Aborting after the request left counts as an unknown outcome. */
  signal?: AbortSignal;
}

/** The reply: status, headers and the whole body as text. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Who is talking and what a lost reply means for the operation. */
export interface ExchangeContext {
  kind: IntermediaryKind;
  /** The intermediary's name in messages, e.g. `Moj-eRačun`. */
  label: string;
  operation: string;
  /**
   * Whether the operation changes state (a send): then a lost reply is
   * an unknown outcome.
   */
  mutating: boolean;
  timeoutMs: number;
}

/** Largest reply body read, in bytes (documents may embed PDFs). */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

/**
 * Error codes (of the error's causes) that mean the connection never
 * opened, so the request cannot have reached the service.
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
 * The server's certificate did not verify: Node stops before writing
 * the request, so nothing was sent.
 */
const SERVER_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The server refused our client certificate during the handshake. */
const CLIENT_CERTIFICATE_ALERT =
  /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)/;

/**
 * Authorises the headers and returns the values the authoriser added
 * (to scrub from anything the service echoes back).
 */
export function authorisedHeaders(
  own: Record<string, string>,
  auth: RequestAuthoriser,
): { headers: Record<string, string>; secrets: string[] } {
  const headers = { ...own };
  auth.authorise(headers);
  const secrets = Object.entries(headers)
    .filter(([name, value]) => own[name] !== value)
    .map(([, value]) => value);
  return { headers, secrets };
}

/**
 * Sends one request and reads the whole reply, whatever its status.
 * Transport failures become TenantGateErrors (see `transportError`).
 */
export async function exchange(
  ctx: ExchangeContext,
  call: HttpCall,
): Promise<HttpReply> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs);
  const signal = call.signal
    ? AbortSignal.any([timeout, call.signal])
    : timeout;
  try {
    return await request(call, signal);
  } catch (error) {
    throw transportError(ctx, error, {
      timedOut: timeout.aborted,
      aborted: call.signal?.aborted ?? false,
    });
  }
}

function request(call: HttpCall, signal: AbortSignal): Promise<HttpReply> {
  const url = new URL(call.url);
  const client = url.protocol === 'https:' ? https : http;
  const headers = { ...call.headers };
  if (call.body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(call.body));
  }
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      { method: call.method, headers, agent: call.agent, signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            res.destroy(new Error('The reply is larger than allowed'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('The reply was cut off')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * A failure without an HTTP reply. Only a connection that never opened
 * (or a server certificate we refused before writing) proves the
 * service got nothing; otherwise a mutating call's outcome is unknown.
 * Reads are safe to repeat, so for them it is simply unavailable. A
 * TLS alert refusing our client certificate is an auth failure.
 */
export function transportError(
  ctx: ExchangeContext,
  error: unknown,
  how: { timedOut: boolean; aborted: boolean },
): TenantGateError {
  const codes = errorCodes(error);
  const details: ErrorDetails = {
    providerKind: ctx.kind,
    operation: ctx.operation,
    codes,
  };
  const quick = !how.timedOut && !how.aborted && codes.length > 0;
  if (quick && codes.some((c) => CLIENT_CERTIFICATE_ALERT.test(c))) {
    return new TenantGateError(
      'COUNTERPART_AUTH_FAILED',
      `${ctx.label} refused the client certificate`,
      { ...details, reason: 'client_certificate' },
      { cause: error },
    );
  }
  if (quick && codes.some((c) => SERVER_CERTIFICATE_CODES.has(c))) {
    return new TenantGateError(
      'COUNTERPART_REPLY_INVALID',
      `${ctx.label}'s server certificate does not verify against the configured CA`,
      { ...details, reason: 'server_certificate' },
      { cause: error },
    );
  }
  const neverSent = quick && codes.every((c) => NOT_SENT_CODES.has(c));
  const reason = neverSent
    ? 'not_connected'
    : how.timedOut
      ? 'timeout'
      : how.aborted
        ? 'aborted'
        : 'connection_lost';

  if (neverSent || !ctx.mutating) {
    return new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      `${ctx.label} could not be reached`,
      { ...details, reason },
      { cause: error },
    );
  }
  return new TenantGateError(
    'SEND_OUTCOME_UNKNOWN',
    `No reply from ${ctx.label}; the document may have been received`,
    { ...details, reason, timeoutMs: ctx.timeoutMs },
    { cause: error },
  );
}

/**
 * The error for a 429 or 5xx reply: retryable, nothing was accepted.
 * `retryAfterSeconds` carries the service's Retry-After when it sent one.
 */
export function unavailable(
  ctx: ExchangeContext,
  reply: HttpReply,
  details: ErrorDetails = {},
): TenantGateError {
  const retryAfter = retryAfterSeconds(reply.headers['retry-after']);
  return new TenantGateError(
    'COUNTERPART_UNAVAILABLE',
    reply.status === 429
      ? `${ctx.label} is rate limiting`
      : `${ctx.label} is unavailable`,
    {
      providerKind: ctx.kind,
      operation: ctx.operation,
      status: reply.status,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      ...details,
    },
  );
}

/** Retry-After as seconds (delta-seconds or an HTTP date). */
export function retryAfterSeconds(
  value: string | string[] | undefined,
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim());
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Whether the status means "try again later" (nothing accepted). */
export function isUnavailableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The `code`s along the cause chain (sockets nest their errors). */
export function errorCodes(error: unknown, depth = 0): string[] {
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

const MAX_FINDINGS = 100;
const MAX_FINDING_LENGTH = 2_000;

/** Findings as bounded strings, without our secrets. */
export function findings(items: unknown[], secrets: string[]): string[] {
  return items.slice(0, MAX_FINDINGS).map((item: unknown) => {
    const text = typeof item === 'string' ? item : JSON.stringify(item);
    return scrub(text, secrets).slice(0, MAX_FINDING_LENGTH);
  });
}

/** A service that echoes a credential must not leak it into our errors. */
export function scrub(text: string, secrets: string[]): string {
  return secrets.reduce(
    (out, secret) =>
      secret === '' ? out : out.split(secret).join('[redacted]'),
    text,
  );
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  return (body as Record<string, unknown>)[name];
}

/** Checks a client's base URL and timeout; returns the trimmed origin. */
export function checkEndpoint(
  baseUrl: string,
  timeoutMs: number,
): { origin: string; timeoutMs: number } {
  if (!/^https?:\/\/[^/]/.test(baseUrl)) {
    throw new TenantGateError(
      'INVALID_INPUT',
      'baseUrl must be an http(s) URL',
      { field: 'baseUrl', rule: 'http_url' },
    );
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TenantGateError('INVALID_INPUT', 'timeoutMs must be > 0', {
      field: 'timeoutMs',
      rule: 'positive',
    });
  }
  return { origin: baseUrl.replace(/\/+$/, ''), timeoutMs };
}
