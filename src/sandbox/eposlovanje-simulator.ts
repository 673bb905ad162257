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

/**
 * A fault the simulator plays on the next `times` requests (default 1),
 * whatever the route:
 * - `status`: answers with that status before doing anything (the
 *   document is not stored); 502 and 503 answer HTML, as a gateway does.
 * - `latency`: waits `ms` once the request has arrived, then handles it
 *   (a send stores the document even if the client gave up).
 * - `drop-reply`: handles the request (a send stores the document), then
 *   destroys the socket without answering: a lost reply.
 */
export type EposlovanjeFault =
  | { kind: 'status'; status: 500 | 502 | 503; times?: number }
  | { kind: 'latency'; ms: number; times?: number }
  | { kind: 'drop-reply'; times?: number };

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
}

/** A running ePoslovanje API v2 simulator. */
export interface EposlovanjeSimulator {
  /** Origin to give the client, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Binds `apiKey` to a company OIB (a key has exactly one OIB). */
  registerKey(apiKey: string, oib: string): void;
  revokeKey(apiKey: string): void;
  injectFault(fault: EposlovanjeFault): void;
  /** Forgets keys, documents and pending faults. */
  reset(): void;
  /** Accepted documents, oldest first. */
  documents(): ReceivedDocument[];
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
}

interface State {
  keys: Map<string, string>;
  documents: ReceivedDocument[];
  faults: PendingFault[];
  dropped: WeakSet<IncomingMessage>;
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
      void state.faults.push({ fault, remaining: fault.times ?? 1 }),
    reset: () => {
      state.keys.clear();
      state.documents.length = 0;
      state.faults.length = 0;
    },
    documents: () => state.documents.map((doc) => ({ ...doc })),
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
    faults: [],
    dropped: new WeakSet(),
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
    const fault = takeFault(state);
    if (fault?.kind === 'status') return replyFaultStatus(reply, fault.status);
    if (fault?.kind === 'latency') state.delayed.set(request.raw, fault.ms);
    if (fault?.kind === 'drop-reply') state.dropped.add(request.raw);

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
        status: 'SENT',
        insertedOn: doc.insertedOn,
      });
    },
  );
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

function takeFault(state: State): EposlovanjeFault | undefined {
  const pending = state.faults.find((f) => f.remaining > 0);
  if (!pending) return undefined;
  pending.remaining -= 1;
  return pending.fault;
}

function replyFaultStatus(
  reply: FastifyReply,
  status: 500 | 502 | 503,
): FastifyReply {
  if (status === 500) {
    return reply.code(500).send({ error: 'Internal server error' });
  }
  const title = status === 502 ? 'Bad Gateway' : 'Service Unavailable';
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
