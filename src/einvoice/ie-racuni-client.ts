import { setTimeout as sleep } from 'node:timers/promises';
import {
  invalidInput,
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import {
  authorisedHeaders,
  checkEndpoint,
  exchange,
  field,
  findings,
  isUnavailableStatus,
  parseJson,
  scrub,
  unavailable,
  type ExchangeContext,
  type HttpReply,
} from './counterpart-http.js';
import type {
  DocumentStatus,
  IncomingPage,
  IntermediaryClient,
  OutgoingDocument,
  RequestAuthoriser,
  SendOptions,
  SendResult,
} from './intermediary.js';

export interface IeRacuniClientOptions {
  /**
   * Origin of the service; the client adds the API base path
   * `/api/v4/`. No default: IE-Računi accounts name it.
   */
  baseUrl: string;
  /** Time allowed for one request, reply included. Default 30 000 ms. */
  timeoutMs?: number;
  /**
   * How long `send` polls an accepted import for its verdict before it
   * returns with the import still queued. Default 10 000 ms.
   */
  importWaitMs?: number;
  /** Pause between two polls of an import. Default 250 ms. */
  pollIntervalMs?: number;
  /** Most inbox documents asked for per `incoming` page. Default 100. */
  pageSize?: number;
}

/**
 * The credential set an IE-Računi account seals: the integrator's Basic
 * credentials and the tenant's OIB and Token, all sent as headers.
 */
export function ieRacuniCredentials(input: {
  username: string;
  password: string;
  oib: string;
  token: string;
}): string {
  const basic = Buffer.from(`${input.username}:${input.password}`, 'utf8');
  return JSON.stringify({
    headers: {
      Authorization: `Basic ${basic.toString('base64')}`,
      OIB: input.oib,
      Token: input.token,
    },
  });
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

interface ImportState {
  importId: string;
  status: string;
  documentId?: string;
  errors?: unknown[];
}

const KIND = 'EINVOICE_IE_RACUNI';
const LABEL = 'IE-Računi';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_IMPORT_WAIT_MS = 10_000;
const DEFAULT_POLL_INTERVAL_MS = 250;
const DEFAULT_PAGE_SIZE = 100;

/** Import statuses; the first two mean the verdict is not in yet. */
const IMPORT_PENDING = new Set(['QUEUED', 'PROCESSING']);

/**
 * The IE-Računi API v4 client (PROTOCOLS.md, "Intermediaries"). Headers
 * `Authorization: Basic`, `OIB` and `Token` come from the account's
 * credential set through the authoriser.
 *
 * A document is imported asynchronously: `send` posts it, gets an
 * `importId` (the document's `providerRef` from then on), and polls the
 * import until it is DONE (returns), FAILED (COUNTERPART_REJECTED with
 * the findings) or `importWaitMs` passes (returns; `status` tells
 * later). Once the import is accepted the outcome is known, so a poll
 * that fails never turns into an error that could cause a resend.
 */
export function createIeRacuniClient(
  options: IeRacuniClientOptions,
): IntermediaryClient {
  const { origin, timeoutMs } = checkEndpoint(
    options.baseUrl,
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const importWaitMs = options.importWaitMs ?? DEFAULT_IMPORT_WAIT_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  for (const [name, value] of Object.entries({
    importWaitMs,
    pollIntervalMs,
    pageSize,
  })) {
    if (!Number.isInteger(value) || value < 0) {
      throw invalidInput(name, 'non-negative', `${name} must be >= 0`);
    }
  }
  const apiRoot = `${origin}/api/v4/`;
  const call = async (c: Call) => {
    const reply = await request(apiRoot, timeoutMs, c);
    return parseJson(reply.text);
  };

  const readImport = async (
    importId: string,
    auth: RequestAuthoriser,
    operation: Operation,
  ): Promise<ImportState> => {
    const body = await call({
      operation,
      method: 'GET',
      path: `import/${encodeURIComponent(importId)}`,
      auth,
    });
    return toImportState(body, importId, operation);
  };

  /** Polls until a verdict or the wait is over; never throws. */
  const awaitVerdict = async (
    importId: string,
    auth: RequestAuthoriser,
  ): Promise<ImportState | undefined> => {
    const deadline = Date.now() + importWaitMs;
    for (;;) {
      const state = await readImport(importId, auth, 'send').catch(
        () => undefined,
      );
      if (state && !IMPORT_PENDING.has(state.status)) return state;
      if (Date.now() + pollIntervalMs > deadline) return state;
      await sleep(pollIntervalMs);
    }
  };

  return {
    kind: KIND,

    async send(doc, auth, opts: SendOptions = {}): Promise<SendResult> {
      if (doc.ublXml === '') {
        throw invalidInput('ublXml', 'required', 'The UBL document is empty');
      }
      const accepted = await call({
        operation: 'send',
        method: 'POST',
        path: 'import',
        auth,
        body: JSON.stringify({
          type: documentType(doc.ublXml),
          file: Buffer.from(doc.ublXml, 'utf8').toString('base64'),
        }),
        signal: opts.signal,
      });
      const importId = field(accepted, 'importId');
      if (typeof importId !== 'string' || importId === '') {
        throw new TenantGateError(
          'SEND_OUTCOME_UNKNOWN',
          'IE-Računi accepted the import but its reply has no importId',
          { providerKind: KIND, operation: 'send' },
        );
      }
      const acceptedAt = field(accepted, 'createdAt');
      const verdict = await awaitVerdict(importId, auth);
      if (verdict?.status === 'FAILED') {
        throw new TenantGateError(
          'COUNTERPART_REJECTED',
          'IE-Računi refused the imported document',
          {
            providerKind: KIND,
            operation: 'send',
            providerRef: importId,
            errors: findings(verdict.errors ?? [], []),
          },
        );
      }
      return {
        providerRef: importId,
        acceptedAt:
          typeof acceptedAt === 'string'
            ? acceptedAt
            : new Date().toISOString(),
        message: verdict ? `import ${verdict.status}` : 'import accepted',
      };
    },

    /**
     * The import's status while it is pending or failed (`QUEUED`,
     * `PROCESSING`, `FAILED`), then the document's (`SENT`,
     * `DELIVERED`, `ACCEPTED`, `REJECTED`).
     */
    async status(providerRef, auth): Promise<DocumentStatus> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No import id');
      }
      const state = await readImport(providerRef, auth, 'status');
      if (state.status !== 'DONE' || state.documentId === undefined) {
        return { providerRef, status: state.status };
      }
      const doc = await call({
        operation: 'status',
        method: 'GET',
        path: `documents/${encodeURIComponent(state.documentId)}`,
        auth,
      });
      const status = field(doc, 'status');
      if (typeof status !== 'string') throw noField('status', 'status');
      return { providerRef, status };
    },

    async outgoing(query, auth): Promise<OutgoingDocument[]> {
      const params = new URLSearchParams({ sellerOib: query.sellerOib });
      if (query.documentNumber !== undefined) {
        params.set('number', query.documentNumber);
      }
      if (query.since !== undefined) params.set('from', query.since);
      const body = await call({
        operation: 'outgoing',
        method: 'GET',
        path: `documents/outgoing?${params}`,
        auth,
      });
      return itemsOf(body, 'outgoing').map((item) => ({
        providerRef: text(item, 'importId'),
        sellerOib: text(item, 'sellerOib'),
        documentNumber: text(item, 'number'),
        status: text(item, 'status'),
        submittedAt: text(item, 'createdAt'),
      }));
    },

    async incoming(cursor, auth): Promise<IncomingPage> {
      if (cursor !== null && !/^\d+$/.test(cursor)) {
        throw invalidInput('cursor', 'format', 'Not an IE-Računi cursor');
      }
      const params = new URLSearchParams({
        after: cursor ?? '0',
        limit: String(pageSize),
      });
      const body = await call({
        operation: 'incoming',
        method: 'GET',
        path: `documents/incoming?${params}`,
        auth,
      });
      const items = itemsOf(body, 'incoming');
      const last = items.at(-1);
      return {
        documents: items.map((item) => ({
          providerRef: text(item, 'documentId'),
          senderOib: text(item, 'senderOib'),
          documentNumber: text(item, 'number'),
          receivedAt: text(item, 'receivedAt'),
        })),
        // The service's sequence number of the last document returned.
        nextCursor: last ? String(field(last, 'seq')) : cursor,
      };
    },

    async fetchDocument(providerRef, auth): Promise<{ ublXml: string }> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No document id');
      }
      const body = await call({
        operation: 'fetchDocument',
        method: 'GET',
        path: `documents/${encodeURIComponent(providerRef)}/xml`,
        auth,
      });
      const file = field(body, 'file');
      if (typeof file !== 'string') throw noField('fetchDocument', 'file');
      return { ublXml: Buffer.from(file, 'base64').toString('utf8') };
    },

    async ping(auth): Promise<void> {
      await call({ operation: 'ping', method: 'GET', path: 'ping', auth });
    },
  };
}

/**
 * One request with the authoriser's headers. Non-2xx replies and
 * transport failures become TenantGateErrors here.
 */
async function request(
  apiRoot: string,
  timeoutMs: number,
  c: Call,
): Promise<HttpReply> {
  const own: Record<string, string> = { accept: 'application/json' };
  if (c.body !== undefined) own['content-type'] = 'application/json';
  const { headers, secrets } = authorisedHeaders(own, c.auth);
  const ctx: ExchangeContext = {
    kind: KIND,
    label: LABEL,
    operation: c.operation,
    mutating: c.operation === 'send' && c.method === 'POST',
    timeoutMs,
  };
  const reply = await exchange(ctx, {
    url: apiRoot + c.path,
    method: c.method,
    headers,
    body: c.body,
    signal: c.signal,
  });
  if (reply.status >= 200 && reply.status < 300) return reply;
  if (isUnavailableStatus(reply.status)) throw unavailable(ctx, reply);
  throw refusal(ctx, reply, secrets);
}

/** IE-Računi's error shape: `{code, message, errors?: [{field, message}]}`. */
function refusal(
  ctx: ExchangeContext,
  reply: HttpReply,
  secrets: string[],
): TenantGateError {
  const body = parseJson(reply.text);
  const details: ErrorDetails = {
    providerKind: KIND,
    operation: ctx.operation,
    status: reply.status,
  };
  const code = field(body, 'code');
  if (typeof code === 'string') details.providerCode = code;
  const message = field(body, 'message');
  if (typeof message === 'string') {
    details.providerMessage = scrub(message, secrets);
  }
  if (reply.status === 401 || reply.status === 403) {
    return new TenantGateError(
      'COUNTERPART_AUTH_FAILED',
      'IE-Računi refused the credentials',
      details,
    );
  }
  const errors = field(body, 'errors');
  details.errors = findings(Array.isArray(errors) ? errors : [], secrets);
  return new TenantGateError(
    'COUNTERPART_REJECTED',
    'IE-Računi rejected the request',
    details,
  );
}

function toImportState(
  body: unknown,
  importId: string,
  operation: Operation,
): ImportState {
  const status = field(body, 'status');
  if (typeof status !== 'string') throw noField(operation, 'status');
  const documentId = field(body, 'documentId');
  const errors = field(body, 'errors');
  return {
    importId,
    status,
    ...(typeof documentId === 'string' ? { documentId } : {}),
    ...(Array.isArray(errors) ? { errors } : {}),
  };
}

function itemsOf(body: unknown, operation: Operation): unknown[] {
  const items = field(body, 'items');
  if (Array.isArray(items)) return items;
  throw noField(operation, 'items');
}

function text(item: unknown, name: string): string {
  const value = field(item, name);
  return typeof value === 'string' || typeof value === 'number'
    ? String(value)
    : '';
}

function noField(operation: Operation, name: string): TenantGateError {
  return new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    `IE-Računi answered without ${name}`,
    { providerKind: KIND, operation, field: name },
  );
}

/** The import `type` from the document's root element. */
function documentType(xml: string): 'INVOICE' | 'CREDIT_NOTE' {
  const root = /<(?:[\w.-]+:)?(Invoice|CreditNote)[\s>]/.exec(xml);
  return root?.[1] === 'CreditNote' ? 'CREDIT_NOTE' : 'INVOICE';
}
