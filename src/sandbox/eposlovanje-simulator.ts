import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { XMLParser } from 'fast-xml-parser';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  createUblSchemaValidator,
  type UblSchemaValidator,
} from './xsd-validator.js';

/** The simulator's routes, as faults name them. */
export type EposlovanjeRoute =
  'ping' | 'send' | 'status' | 'outgoing' | 'incoming' | 'get';

/** Where a fault applies: by default to any route, from the next request. */
interface FaultTarget {
  /** Number of matching requests to play it on. Default 1. */
  times?: number;
  /** Only requests to this route match. Default: every route. */
  route?: EposlovanjeRoute;
  /**
   * Matching requests to let through first: `{route: 'incoming',
   * skip: 1}` fails the second inbox page.
   */
  skip?: number;
}

/**
 * A fault the simulator plays on the next matching requests:
 * - `status`: answers with that status before doing anything (the
 *   document is not stored); 502 and 503 answer HTML, as a gateway does;
 *   429 answers JSON with `Retry-After` (seconds) when `retryAfter` is
 *   given.
 * - `latency`: waits `ms` once the request has arrived, then handles it
 *   (a send stores the document even if the client gave up).
 * - `drop-reply`: handles the request (a send stores the document), then
 *   destroys the socket without answering: a lost reply.
 * - `drop-request`: destroys the socket before handling anything: the
 *   client cannot tell this from a lost reply, but nothing was stored.
 * - `gateway-error`: handles the request (a send stores the document),
 *   then answers `status` with a gateway's HTML page instead of the
 *   service's reply.
 */
export type EposlovanjeFault = FaultTarget &
  (
    | { kind: 'status'; status: 429 | 500 | 502 | 503; retryAfter?: number }
    | { kind: 'latency'; ms: number }
    | { kind: 'drop-reply' }
    | { kind: 'drop-request' }
    | { kind: 'gateway-error'; status: 502 | 504 }
  );

/** A document the simulator accepted. */
export interface ReceivedDocument {
  /** The id returned to the sender, as a string. */
  id: string;
  /** The OIB of the API key that sent it. */
  oib: string;
  /** The document's `cbc:ID`. */
  documentNumber: string;
  xml: string;
  softwareId: string;
  sendAsEmail: boolean;
  insertedOn: string;
  /** The status word `document/status` answers (`SENT` at first). */
  status: string;
}

/** A document waiting in a company's inbox. */
export interface InboxDocument {
  id: string;
  /** The company the document is addressed to. */
  receiverOib: string;
  senderOib: string;
  documentNumber: string;
  xml: string;
  insertedOn: string;
}

/** Status words the simulator's `document/status` answers. */
export const EPOSLOVANJE_STATUSES = [
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
] as const;

/** A running ePoslovanje API v2 simulator. */
export interface EposlovanjeSimulator {
  /** Origin to give the client, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Binds `apiKey` to a company OIB (a key has exactly one OIB). */
  registerKey(apiKey: string, oib: string): void;
  revokeKey(apiKey: string): void;
  injectFault(fault: EposlovanjeFault): void;
  /** Forgets keys, documents, inboxes and pending faults. */
  reset(): void;
  /**
   * Accepted documents, oldest first: one per delivery (the service
   * does not deduplicate; a second send is a second delivery).
   */
  documents(): ReceivedDocument[];
  /** Sets what `document/status/{id}` answers for a sent document. */
  setStatus(id: string, status: string): void;
  /**
   * Puts a document in the inbox of `receiverOib` (sender and number
   * read from the XML unless given; the XML is kept byte for byte).
   */
  injectIncoming(doc: {
    receiverOib: string;
    xml: string;
    senderOib?: string;
    documentNumber?: string;
  }): InboxDocument;
  /** Every inbox document, oldest first. */
  inbox(): InboxDocument[];
  close(): Promise<void>;
}

export interface EposlovanjeSimulatorOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 0 (any free port). */
  port?: number;
  /** Schema check for received UBL. Default: the repository's UBL XSDs. */
  validator?: UblSchemaValidator;
  /** Largest accepted request body in bytes. Default 20 MiB. */
  bodyLimit?: number;
}

interface PendingFault {
  fault: EposlovanjeFault;
  remaining: number;
  skip: number;
}

interface State {
  keys: Map<string, string>;
  documents: ReceivedDocument[];
  inbox: InboxDocument[];
  faults: PendingFault[];
  dropped: WeakSet<IncomingMessage>;
  gatewayErrors: WeakMap<IncomingMessage, 502 | 504>;
  delayed: WeakMap<IncomingMessage, number>;
  nextId: number;
  closing: AbortController;
}

const BASE = '/api/v2';
const SUPPLIER_OIB_SCHEME = '9934';

/**
 * Starts a loopback simulator of ePoslovanje API v2 (PROTOCOLS.md,
 * "Intermediaries"). It shares no code with the client: it reads the
 * wire format on its own so that it can catch the client's mistakes.
 * It logs nothing.
 */
export async function startEposlovanjeSimulator(
  options: EposlovanjeSimulatorOptions = {},
): Promise<EposlovanjeSimulator> {
  const validator = options.validator ?? createUblSchemaValidator();
  const state: State = freshState();
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 20 * 1024 * 1024,
    forceCloseConnections: true,
  });

  registerHooks(app, state);
  registerRoutes(app, state, validator);
  await app.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  });

  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error('The simulator is not listening on a TCP port');
  }
  const url = `http://${address.address}:${address.port}`;

  return {
    url,
    registerKey: (apiKey, oib) => void state.keys.set(apiKey, oib),
    revokeKey: (apiKey) => void state.keys.delete(apiKey),
    injectFault: (fault) =>
      void state.faults.push({
        fault,
        remaining: fault.times ?? 1,
        skip: fault.skip ?? 0,
      }),
    reset: () => {
      state.keys.clear();
      state.documents.length = 0;
      state.inbox.length = 0;
      state.faults.length = 0;
    },
    documents: () => state.documents.map((doc) => ({ ...doc })),
    setStatus: (id, status) => {
      const doc = state.documents.find((d) => d.id === id);
      if (!doc) throw new Error(`No sent document ${id}`);
      doc.status = status;
    },
    injectIncoming: (doc) => {
      const facts = readDocumentFacts(doc.xml);
      const stored: InboxDocument = {
        id: String(state.nextId++),
        receiverOib: doc.receiverOib,
        senderOib: doc.senderOib ?? facts.supplierOib ?? '',
        documentNumber: doc.documentNumber ?? facts.documentNumber,
        xml: doc.xml,
        insertedOn: new Date().toISOString(),
      };
      state.inbox.push(stored);
      return { ...stored };
    },
    inbox: () => state.inbox.map((doc) => ({ ...doc })),
    close: async () => {
      state.closing.abort();
      await app.close();
    },
  };
}

function freshState(): State {
  return {
    keys: new Map(),
    documents: [],
    inbox: [],
    faults: [],
    dropped: new WeakSet(),
    gatewayErrors: new WeakMap(),
    delayed: new WeakMap(),
    // Numeric ids like the real service's, not starting at 1 so that a
    // client confusing them with row numbers stands out.
    nextId: 100_000 + randomInt(900_000),
    closing: new AbortController(),
  };
}

/**
 * Faults first (a gateway answers before the service), then the key.
 * Latency is played once the body has arrived, so that a client giving
 * up meanwhile does not stop the service from handling the request.
 */
function registerHooks(app: FastifyInstance, state: State): void {
  app.addHook('onRequest', async (request, reply) => {
    const fault = takeFault(state, routeOf(request));
    if (fault?.kind === 'status') return replyFaultStatus(reply, fault);
    if (fault?.kind === 'latency') state.delayed.set(request.raw, fault.ms);
    if (fault?.kind === 'drop-reply') state.dropped.add(request.raw);
    if (fault?.kind === 'gateway-error') {
      state.gatewayErrors.set(request.raw, fault.status);
    }
    if (fault?.kind === 'drop-request') {
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }

    if (keyOib(request, state) !== undefined) return;
    return answer(request, reply, state, 401, {
      error: 'Missing or unknown API key',
    });
  });

  app.addHook('preHandler', async (request) => {
    const ms = state.delayed.get(request.raw);
    if (ms !== undefined) await pause(ms, state.closing.signal);
  });

  app.setNotFoundHandler((request, reply) =>
    answer(request, reply, state, 404, { error: 'Not found' }),
  );

  app.setErrorHandler((error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) {
      return answer(request, reply, state, 500, {
        error: 'Internal server error',
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return answer(request, reply, state, status, {
      error: 'Bad request',
      details: [message],
    });
  });
}

function registerRoutes(
  app: FastifyInstance,
  state: State,
  validator: UblSchemaValidator,
): void {
  app.get(`${BASE}/ping`, (request, reply) =>
    answer(request, reply, state, 200, { message: 'pong' }),
  );

  app.post(`${BASE}/document/send`, (request, reply) =>
    handleSend(request, reply, state, validator),
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/document/status/:id`,
    (request, reply) => {
      const oib = keyOib(request, state);
      const doc = state.documents.find(
        (d) => d.id === request.params.id && d.oib === oib,
      );
      if (!doc) {
        return answer(request, reply, state, 404, {
          error: 'Document not found',
        });
      }
      return answer(request, reply, state, 200, {
        id: Number(doc.id),
        status: doc.status,
        insertedOn: doc.insertedOn,
      });
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    `${BASE}/document/outgoing`,
    (request, reply) => {
      const page = pageOf(request.query);
      if (typeof page === 'string') {
        return answer(request, reply, state, 400, {
          error: 'Bad request',
          details: [page],
        });
      }
      // No lookup by number or date: the whole listing, oldest first.
      const oib = keyOib(request, state);
      const listed = state.documents.filter((d) => d.oib === oib);
      return answer(
        request,
        reply,
        state,
        200,
        listed.slice(page.offset, page.offset + page.limit).map((d) => ({
          id: Number(d.id),
          documentNr: d.documentNumber,
          senderOib: d.oib,
          status: d.status,
          insertedOn: d.insertedOn,
        })),
      );
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    `${BASE}/document/incoming`,
    (request, reply) => {
      const page = pageOf(request.query);
      if (typeof page === 'string') {
        return answer(request, reply, state, 400, {
          error: 'Bad request',
          details: [page],
        });
      }
      const oib = keyOib(request, state);
      const listed = state.inbox.filter((d) => d.receiverOib === oib);
      return answer(
        request,
        reply,
        state,
        200,
        listed.slice(page.offset, page.offset + page.limit).map((d) => ({
          id: Number(d.id),
          documentNr: d.documentNumber,
          senderOib: d.senderOib,
          receiverOib: d.receiverOib,
          insertedOn: d.insertedOn,
        })),
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/document/get/:id`,
    (request, reply) => {
      const oib = keyOib(request, state);
      const doc = state.inbox.find(
        (d) => d.id === request.params.id && d.receiverOib === oib,
      );
      if (!doc) {
        return answer(request, reply, state, 404, {
          error: 'Document not found',
        });
      }
      return answer(request, reply, state, 200, {
        id: Number(doc.id),
        document: doc.xml,
      });
    },
  );
}

const MAX_PAGE = 100;

/** `limit` (1–100, default 50) and `offset` (default 0), or a problem. */
function pageOf(
  query: Record<string, string | undefined>,
): { limit: number; offset: number } | string {
  const limit = Number(query.limit ?? 50);
  const offset = Number(query.offset ?? 0);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    return `limit must be an integer from 1 to ${MAX_PAGE}`;
  }
  if (!Number.isInteger(offset) || offset < 0) {
    return 'offset must be a non-negative integer';
  }
  return { limit, offset };
}

const ROUTES: Record<string, EposlovanjeRoute> = {
  [`${BASE}/ping`]: 'ping',
  [`${BASE}/document/send`]: 'send',
  [`${BASE}/document/status/:id`]: 'status',
  [`${BASE}/document/outgoing`]: 'outgoing',
  [`${BASE}/document/incoming`]: 'incoming',
  [`${BASE}/document/get/:id`]: 'get',
};

function routeOf(request: FastifyRequest): EposlovanjeRoute | undefined {
  const url = request.routeOptions.url;
  return url === undefined ? undefined : ROUTES[url];
}

async function handleSend(
  request: FastifyRequest,
  reply: FastifyReply,
  state: State,
  validator: UblSchemaValidator,
): Promise<FastifyReply> {
  const problems = sendBodyProblems(request.body);
  if (problems.length > 0) {
    return answer(request, reply, state, 400, {
      error: 'Missing or invalid fields',
      details: problems,
    });
  }
  const body = request.body as SendBody;

  const check = await validator.validate(body.document);
  if (!check.valid) {
    return answer(request, reply, state, 400, {
      error: 'Validation failed',
      details: check.errors.map((e) => `line ${e.line}: ${e.message}`),
    });
  }

  const facts = readDocumentFacts(body.document);
  if (facts.supplierOib === undefined) {
    return answer(request, reply, state, 400, {
      error: 'Validation failed',
      details: [
        `AccountingSupplierParty/Party/EndpointID with schemeID ${SUPPLIER_OIB_SCHEME} is required`,
      ],
    });
  }
  const oib = keyOib(request, state) as string;
  if (facts.supplierOib !== oib) {
    return answer(request, reply, state, 403, {
      error: 'The supplier OIB does not match the API key',
    });
  }

  const doc = storeDocument(state, oib, facts.documentNumber, body);
  return answer(request, reply, state, 200, {
    id: Number(doc.id),
    insertedOn: doc.insertedOn,
    message: 'Document successfully sent',
  });
}

interface SendBody {
  document: string;
  softwareId: string;
  sendAsEmail?: boolean;
}

function sendBodyProblems(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return ['The request body must be a JSON object'];
  }
  const fields = body as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof fields.document !== 'string' || fields.document === '') {
    problems.push('document is required (the UBL XML as a string)');
  }
  if (typeof fields.softwareId !== 'string' || fields.softwareId === '') {
    problems.push('softwareId is required');
  }
  if (
    fields.sendAsEmail !== undefined &&
    typeof fields.sendAsEmail !== 'boolean'
  ) {
    problems.push('sendAsEmail must be a boolean');
  }
  return problems;
}

function storeDocument(
  state: State,
  oib: string,
  documentNumber: string,
  body: SendBody,
): ReceivedDocument {
  const doc: ReceivedDocument = {
    id: String(state.nextId++),
    oib,
    documentNumber,
    xml: body.document,
    softwareId: body.softwareId,
    sendAsEmail: body.sendAsEmail ?? false,
    insertedOn: new Date().toISOString(),
    status: 'SENT',
  };
  state.documents.push(doc);
  return doc;
}

const xmlParser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // OIBs and document numbers are strings; "01234..." must stay intact.
  parseTagValue: false,
  parseAttributeValue: false,
});

/** The supplier OIB and `cbc:ID` of an already schema-valid document. */
function readDocumentFacts(xml: string): {
  supplierOib?: string;
  documentNumber: string;
} {
  const parsed: unknown = xmlParser.parse(xml);
  const root = child(parsed, 'Invoice') ?? child(parsed, 'CreditNote');
  const endpoint = child(
    child(child(root, 'AccountingSupplierParty'), 'Party'),
    'EndpointID',
  );
  const scheme = child(endpoint, '@_schemeID');
  const documentNumber = textOf(child(root, 'ID')) ?? '';
  if (scheme !== SUPPLIER_OIB_SCHEME) return { documentNumber };
  return { supplierOib: textOf(endpoint)?.trim(), documentNumber };
}

function child(node: unknown, name: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as Record<string, unknown>)[name];
  return Array.isArray(value) ? value[0] : value;
}

function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  const text = child(node, '#text');
  return typeof text === 'string' ? text : undefined;
}

function keyOib(request: FastifyRequest, state: State): string | undefined {
  const key = request.headers.authorization;
  if (key === undefined || key === '') return undefined;
  return state.keys.get(key);
}

function takeFault(
  state: State,
  route: EposlovanjeRoute | undefined,
): EposlovanjeFault | undefined {
  const pending = state.faults.find(
    (f) =>
      f.remaining > 0 &&
      (f.fault.route === undefined || f.fault.route === route),
  );
  if (!pending) return undefined;
  if (pending.skip > 0) {
    pending.skip -= 1;
    return undefined;
  }
  pending.remaining -= 1;
  return pending.fault;
}

function replyFaultStatus(
  reply: FastifyReply,
  fault: { status: 429 | 500 | 502 | 503 | 504; retryAfter?: number },
): FastifyReply {
  const { status } = fault;
  if (status === 429) {
    if (fault.retryAfter !== undefined) {
      reply.header('retry-after', String(fault.retryAfter));
    }
    return reply.code(429).send({ error: 'Too many requests' });
  }
  if (status === 500) {
    return reply.code(500).send({ error: 'Internal server error' });
  }
  const titles = {
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  const title = titles[status];
  return reply
    .code(status)
    .type('text/html')
    .send(`<html><body><h1>${status} ${title}</h1></body></html>`);
}

/** Sends the answer, or drops it when a drop-reply fault marked it. */
function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  state: State,
  status: number,
  body: object,
): FastifyReply {
  const gateway = state.gatewayErrors.get(request.raw);
  if (gateway !== undefined)
    return replyFaultStatus(reply, { status: gateway });
  if (!state.dropped.has(request.raw)) return reply.code(status).send(body);
  reply.hijack();
  request.raw.socket.destroy();
  return reply;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Closing the simulator cuts the wait short.
  }
}

function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 ? status : 500;
}
