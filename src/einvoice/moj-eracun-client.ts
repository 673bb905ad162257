import {
  invalidInput,
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import {
  checkEndpoint,
  exchange,
  field,
  findings,
  isUnavailableStatus,
  parseJson,
  unavailable,
  type ExchangeContext,
  type HttpReply,
} from './counterpart-http.js';
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

export interface MojEracunClientOptions {
  /**
   * Origin of the service, e.g. `https://demo.moj-eracun.hr`; the client
   * adds the API base path `/apis/v2/`.
   */
  baseUrl: string;
  /** Our software id, sent in every body unless the credentials set one. */
  softwareId: string;
  /** Time allowed for one request, reply included. Default 30 000 ms. */
  timeoutMs?: number;
  /** Most inbox documents returned by one `incoming` page. Default 100. */
  pageSize?: number;
}

/**
 * Moj-eRačun transport statuses (PROTOCOLS.md). `status` reports the
 * number as a string, e.g. `'40'`.
 */
export const MOJ_ERACUN_STATUSES: Record<string, string> = {
  '10': 'PREPARING',
  '20': 'VALIDATING',
  '30': 'SENT',
  '40': 'DELIVERED',
  '45': 'CANCELLED',
  '50': 'FAILED',
};

/**
 * The credential set a Moj-eRačun account seals (vault credential set):
 * the fields travel in every JSON body under their wire names.
 */
export function mojEracunCredentials(input: {
  username: string;
  password: string;
  /** The company's OIB. */
  companyId: string;
  /** The company's business unit, when the account uses one. */
  companyBu?: string;
}): string {
  const body: Record<string, string> = {
    Username: input.username,
    Password: input.password,
    CompanyId: input.companyId,
  };
  if (input.companyBu) body.CompanyBu = input.companyBu;
  return JSON.stringify({ body });
}

type Operation =
  'send' | 'status' | 'ping' | 'outgoing' | 'incoming' | 'fetchDocument';

interface Call {
  operation: Operation;
  path: string;
  fields: Record<string, unknown>;
  auth: RequestAuthoriser;
  signal?: AbortSignal;
}

interface OutboxItem {
  ElectronicId: number | string;
  DocumentNr?: string;
  StatusId?: number;
  Created?: string;
  Sent?: string;
}

interface InboxItem {
  ElectronicId: number | string;
  DocumentNr?: string;
  SenderBusinessNumber?: string;
  Sent?: string;
  Updated?: string;
}

const KIND = 'EINVOICE_MOJ_ERACUN';
const LABEL = 'Moj-eRačun';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 100;
/** The inbox window starts here when no cursor is stored yet. */
const EPOCH = '2000-01-01T00:00:00.000Z';

/**
 * The Moj-eRačun API v2 client (PROTOCOLS.md, "Intermediaries"): JSON
 * POSTs whose bodies carry the credentials (`Username`, `Password`,
 * `CompanyId`), added by the authoriser's `authoriseBody`. The service
 * may answer field-keyed errors with HTTP 200; those are refusals too.
 *
 * The inbox has no position of its own: the cursor is the `Sent` time
 * and id of the last document returned (`<ISO time>|<ElectronicId>`),
 * and each page asks for documents sent at or after that time.
 */
export function createMojEracunClient(
  options: MojEracunClientOptions,
): IntermediaryClient {
  const { origin, timeoutMs } = checkEndpoint(
    options.baseUrl,
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  if (options.softwareId.trim() === '') {
    throw invalidInput('softwareId', 'required', 'softwareId is required');
  }
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw invalidInput('pageSize', 'positive', 'pageSize must be > 0');
  }
  const apiRoot = `${origin}/apis/v2/`;
  const call = (c: Call) => post(apiRoot, timeoutMs, options.softwareId, c);

  const queryOutbox = async (
    operation: Operation,
    filter: Record<string, unknown>,
    auth: RequestAuthoriser,
  ): Promise<OutboxItem[]> => {
    const reply = await call({
      operation,
      path: 'queryOutbox',
      fields: filter,
      auth,
    });
    return listOf<OutboxItem>(reply, operation).filter(hasElectronicId);
  };

  return {
    kind: KIND,

    async send(doc, auth, opts: SendOptions = {}): Promise<SendResult> {
      if (doc.ublXml === '') {
        throw invalidInput('ublXml', 'required', 'The UBL document is empty');
      }
      const reply = await call({
        operation: 'send',
        path: 'send',
        fields: { File: doc.ublXml },
        auth,
        signal: opts.signal,
      });
      return toSendResult(reply);
    },

    async status(providerRef, auth): Promise<DocumentStatus> {
      const id = electronicId(providerRef);
      const items = await queryOutbox('status', { ElectronicId: id }, auth);
      const item = items.find((i) => String(i.ElectronicId) === providerRef);
      if (item?.StatusId === undefined) {
        throw new TenantGateError(
          'COUNTERPART_REJECTED',
          'Moj-eRačun does not know the document',
          { providerKind: KIND, operation: 'status', providerRef },
        );
      }
      return { providerRef, status: String(item.StatusId) };
    },

    async outgoing(query, auth): Promise<OutgoingDocument[]> {
      const filter: Record<string, unknown> = {};
      if (query.since !== undefined) filter.From = isoTime(query.since);
      const items = await queryOutbox('outgoing', filter, auth);
      return items
        .filter(
          (i) =>
            query.documentNumber === undefined ||
            i.DocumentNr === query.documentNumber,
        )
        .map((i) => ({
          providerRef: String(i.ElectronicId),
          // The outbox is the credentials' company's: its seller.
          sellerOib: query.sellerOib,
          documentNumber: i.DocumentNr ?? '',
          status: String(i.StatusId ?? ''),
          submittedAt: i.Created ?? i.Sent ?? '',
        }));
    },

    async incoming(cursor, auth): Promise<IncomingPage> {
      const after = parseCursor(cursor);
      const reply = await call({
        operation: 'incoming',
        path: 'queryInbox',
        fields: { From: after?.sent ?? EPOCH },
        auth,
      });
      const items = listOf<InboxItem>(reply, 'incoming')
        .filter(hasElectronicId)
        .filter((i) => typeof i.Sent === 'string')
        .sort(byPosition)
        .filter((i) => after === undefined || byPosition(i, after.item) > 0)
        .slice(0, pageSize);
      const last = items.at(-1);
      return {
        documents: items.map(toIncoming),
        nextCursor: last ? `${last.Sent}|${last.ElectronicId}` : cursor,
      };
    },

    async fetchDocument(providerRef, auth): Promise<{ ublXml: string }> {
      const reply = await call({
        operation: 'fetchDocument',
        path: 'receive',
        fields: { ElectronicId: electronicId(providerRef) },
        auth,
      });
      if (!reply.text.trimStart().startsWith('<')) {
        throw new TenantGateError(
          'COUNTERPART_REPLY_INVALID',
          'Moj-eRačun answered receive without an XML document',
          { providerKind: KIND, operation: 'fetchDocument', providerRef },
        );
      }
      return { ublXml: reply.text };
    },

    async ping(auth): Promise<void> {
      // An empty window: the cheapest call that checks the credentials.
      const now = new Date().toISOString();
      await queryOutbox('ping', { From: now, To: now }, auth);
    },
  };
}

/**
 * One POST with the credentials in the body. Non-2xx replies, field-keyed
 * errors with 200 and transport failures become TenantGateErrors here.
 */
async function post(
  apiRoot: string,
  timeoutMs: number,
  softwareId: string,
  c: Call,
): Promise<HttpReply> {
  if (c.auth.authoriseBody === undefined) {
    throw new TenantGateError(
      'VAULT_SECRET_INVALID',
      'A Moj-eRačun account needs a credential set (Username, Password, CompanyId) as its secret',
      { providerKind: KIND, rule: 'credential-set-required' },
    );
  }
  const body: Record<string, unknown> = { SoftwareId: softwareId };
  const own = new Set(Object.keys(body));
  c.auth.authoriseBody(body);
  const secrets = Object.entries(body)
    .filter(([name]) => !own.has(name) && name !== 'CompanyId')
    .map(([, value]) => String(value));
  Object.assign(body, c.fields);

  const ctx: ExchangeContext = {
    kind: KIND,
    label: LABEL,
    operation: c.operation,
    mutating: c.operation === 'send',
    timeoutMs,
  };
  const reply = await exchange(ctx, {
    url: apiRoot + c.path,
    method: 'POST',
    headers: {
      accept: 'application/json, application/xml',
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
    signal: c.signal,
  });

  if (isUnavailableStatus(reply.status)) throw unavailable(ctx, reply);
  const parsed = parseJson(reply.text);
  const errors = fieldErrors(parsed);
  if (reply.status >= 200 && reply.status < 300 && errors.length === 0) {
    return reply;
  }
  throw refusal(ctx, reply.status, errors, secrets);
}

/**
 * Moj-eRačun's error shape: `{<Field>: {Value, Messages: [..]}}`. Returns
 * `Field: message` strings; empty when the body is not that shape.
 */
function fieldErrors(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [];
  }
  const out: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    const messages = field(value, 'Messages');
    if (!Array.isArray(messages)) continue;
    for (const message of messages) out.push(`${name}: ${String(message)}`);
  }
  return out;
}

const AUTH_FIELDS = /^(Username|Password|CompanyId|CompanyBu)\b/;

function refusal(
  ctx: ExchangeContext,
  status: number,
  errors: string[],
  secrets: string[],
): TenantGateError {
  const details: ErrorDetails = {
    providerKind: KIND,
    operation: ctx.operation,
    status,
    errors: findings(errors, secrets),
  };
  const onCredentials =
    errors.length > 0 && errors.every((e) => AUTH_FIELDS.test(e));
  if (status === 401 || status === 403 || onCredentials) {
    return new TenantGateError(
      'COUNTERPART_AUTH_FAILED',
      'Moj-eRačun refused the credentials',
      details,
    );
  }
  return new TenantGateError(
    'COUNTERPART_REJECTED',
    'Moj-eRačun rejected the request',
    details,
  );
}

function toSendResult(reply: HttpReply): SendResult {
  const body = parseJson(reply.text);
  const id = field(body, 'ElectronicId');
  if (typeof id !== 'number' && typeof id !== 'string') {
    // Accepted (2xx, no errors) but without an id we cannot find it again.
    throw new TenantGateError(
      'SEND_OUTCOME_UNKNOWN',
      'Moj-eRačun accepted the request but its reply has no ElectronicId',
      { providerKind: KIND, operation: 'send', status: reply.status },
    );
  }
  const created = field(body, 'Created');
  const statusName = field(body, 'StatusName');
  return {
    providerRef: String(id),
    acceptedAt:
      typeof created === 'string' ? created : new Date().toISOString(),
    ...(typeof statusName === 'string' ? { message: statusName } : {}),
  };
}

function listOf<T>(reply: HttpReply, operation: Operation): T[] {
  const body = parseJson(reply.text);
  if (Array.isArray(body)) return body as T[];
  throw new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    'Moj-eRačun answered a query without a list',
    { providerKind: KIND, operation, status: reply.status },
  );
}

function hasElectronicId<T extends { ElectronicId?: unknown }>(
  item: T,
): boolean {
  const id = item.ElectronicId;
  return typeof id === 'number' || (typeof id === 'string' && id !== '');
}

function toIncoming(item: InboxItem): IncomingDocument {
  return {
    providerRef: String(item.ElectronicId),
    senderOib: item.SenderBusinessNumber ?? '',
    documentNumber: item.DocumentNr ?? '',
    receivedAt: item.Sent ?? '',
  };
}

interface Position {
  Sent?: string;
  ElectronicId: number | string;
}

/** Oldest first by `Sent`, then by id (numeric when both are). */
function byPosition(a: Position, b: Position): number {
  const time = Date.parse(a.Sent ?? '') - Date.parse(b.Sent ?? '');
  if (time !== 0 && !Number.isNaN(time)) return time;
  const [x, y] = [Number(a.ElectronicId), Number(b.ElectronicId)];
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return String(a.ElectronicId).localeCompare(String(b.ElectronicId));
}

function parseCursor(
  cursor: string | null,
): { sent: string; item: Position } | undefined {
  if (cursor === null) return undefined;
  const [sent, id] = cursor.split('|');
  if (!sent || !id || Number.isNaN(Date.parse(sent))) {
    throw invalidInput('cursor', 'format', 'Not a Moj-eRačun inbox cursor');
  }
  return { sent, item: { Sent: sent, ElectronicId: id } };
}

function electronicId(providerRef: string): number {
  if (!/^\d{1,15}$/.test(providerRef)) {
    throw invalidInput(
      'providerRef',
      'electronic-id',
      'A Moj-eRačun ElectronicId is a number',
    );
  }
  return Number(providerRef);
}

function isoTime(value: string): string {
  const at = Date.parse(value);
  if (Number.isNaN(at)) {
    throw invalidInput('since', 'iso-date', 'since must be an ISO 8601 time');
  }
  return new Date(at).toISOString();
}
