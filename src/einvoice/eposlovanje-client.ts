import {
  invalidInput,
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import type {
  DocumentStatus,
  IncomingDocument,
  IncomingPage,
  IntermediaryClient,
  OutgoingDocument,
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
  /** Inbox documents per page (1–100). Default 50. */
  pageSize?: number;
}

type Operation =
  'send' | 'status' | 'ping' | 'outgoing' | 'incoming' | 'fetchDocument';

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
  retryAfter: string | null;
}

const KIND = 'EINVOICE_EPOSLOVANJE';
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_FINDINGS = 100;
const MAX_FINDING_LENGTH = 2_000;
const DEFAULT_PAGE_SIZE = 50;
const LISTING_PAGE_SIZE = 100;
/** Bound on the outgoing listing read for one reconciliation. */
const MAX_LISTING_PAGES = 200;

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
  const { apiRoot, softwareId, timeoutMs, pageSize } = checkOptions(options);
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

    /**
     * `GET document/outgoing?limit&offset`, every page: the service has
     * no lookup by number or date (and PROTOCOLS.md names only the
     * inbox listing; the outgoing one is assumed to page the same way),
     * so the listing is filtered here. A listing longer than the bound
     * fails rather than answer "not found" from part of it: a wrong
     * "not found" would lead to a second delivery.
     */
    async outgoing(query, auth): Promise<OutgoingDocument[]> {
      if (!/^[0-9]{11}$/.test(query.sellerOib)) {
        throw invalidInput('sellerOib', 'oib', 'sellerOib must be an OIB');
      }
      const listed: OutgoingDocument[] = [];
      for (let page = 0; ; page += 1) {
        if (page === MAX_LISTING_PAGES) {
          throw new TenantGateError(
            'COUNTERPART_UNAVAILABLE',
            'ePoslovanje listed more outgoing documents than can be searched',
            { providerKind: KIND, operation: 'outgoing', pages: page },
          );
        }
        const params = new URLSearchParams({
          limit: String(LISTING_PAGE_SIZE),
          offset: String(page * LISTING_PAGE_SIZE),
        });
        const reply = await call({
          operation: 'outgoing',
          method: 'GET',
          path: `document/outgoing?${params.toString()}`,
          auth,
        });
        const items = listOf(reply, 'outgoing');
        listed.push(...items.map(toOutgoing));
        if (items.length < LISTING_PAGE_SIZE) break;
      }
      const since =
        query.since === undefined ? undefined : Date.parse(query.since);
      return listed.filter(
        (doc) =>
          doc.sellerOib === query.sellerOib &&
          (query.documentNumber === undefined ||
            doc.documentNumber === query.documentNumber) &&
          (since === undefined || Date.parse(doc.submittedAt) >= since),
      );
    },

    /**
     * `GET document/incoming?limit&offset`: the cursor is the offset of
     * the next unread document (the inbox is listed oldest first).
     */
    async incoming(cursor, auth): Promise<IncomingPage> {
      const offset = cursor === null ? 0 : Number(cursor);
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw invalidInput('cursor', 'offset', 'Not an ePoslovanje cursor');
      }
      const params = new URLSearchParams({
        limit: String(pageSize),
        offset: String(offset),
      });
      const reply = await call({
        operation: 'incoming',
        method: 'GET',
        path: `document/incoming?${params.toString()}`,
        auth,
      });
      const documents = listOf(reply, 'incoming').map(toIncoming);
      return { documents, nextCursor: String(offset + documents.length) };
    },

    /** `GET document/get/{id}` → `{id, document: <UBL string>}`. */
    async fetchDocument(providerRef, auth): Promise<{ ublXml: string }> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No document id');
      }
      const reply = await call({
        operation: 'fetchDocument',
        method: 'GET',
        path: `document/get/${encodeURIComponent(providerRef)}`,
        auth,
      });
      const document = field(reply.body, 'document');
      if (typeof document !== 'string' || document === '') {
        throw malformed('fetchDocument', reply, 'has no document');
      }
      return { ublXml: document };
    },
  };
}

function listOf(reply: Reply, operation: Operation): unknown[] {
  if (!Array.isArray(reply.body)) {
    throw malformed(operation, reply, 'is not a list');
  }
  return reply.body as unknown[];
}

function malformed(
  operation: Operation,
  reply: Reply,
  what: string,
): TenantGateError {
  return new TenantGateError(
    'COUNTERPART_UNAVAILABLE',
    `ePoslovanje's ${operation} reply ${what}`,
    { providerKind: KIND, operation, status: reply.status },
  );
}

function idOf(item: unknown): string {
  const id = field(item, 'id');
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

function text(item: unknown, name: string): string {
  const value = field(item, name);
  return typeof value === 'string' ? value : '';
}

function toOutgoing(item: unknown): OutgoingDocument {
  return {
    providerRef: idOf(item),
    sellerOib: text(item, 'senderOib'),
    documentNumber: text(item, 'documentNr'),
    status: text(item, 'status'),
    submittedAt: text(item, 'insertedOn'),
  };
}

function toIncoming(item: unknown): IncomingDocument {
  const doc = {
    providerRef: idOf(item),
    senderOib: text(item, 'senderOib'),
    documentNumber: text(item, 'documentNr'),
    receivedAt: text(item, 'insertedOn'),
  };
  if (doc.providerRef === '') {
    // Without the id the document can be neither fetched nor deduplicated.
    throw new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      'ePoslovanje listed an incoming document without an id',
      { providerKind: KIND, operation: 'incoming' },
    );
  }
  return doc;
}

function checkOptions(options: EposlovanjeClientOptions) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
    throw invalidInput('pageSize', 'range', 'pageSize must be 1 to 100');
  }
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
  return { apiRoot, softwareId: options.softwareId, timeoutMs, pageSize };
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
    reply = {
      status: response.status,
      body: parseJson(await response.text()),
      retryAfter: response.headers.get('retry-after'),
    };
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
    const retryAfterMs = retryAfterOf(reply.retryAfter);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
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

/** `Retry-After` in seconds or as an HTTP date, as milliseconds. */
function retryAfterOf(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
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
