import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  FaultQueue,
  originOf,
  statusOf,
  type SimulatorFault,
} from './fault-injection.js';
import { readSimulatedUbl } from './ubl-reader.js';
import {
  createUblSchemaValidator,
  type UblSchemaValidator,
} from './xsd-validator.js';

/** An import: QUEUED until processed, then DONE or FAILED. */
export interface IeRacuniImport {
  importId: string;
  oib: string;
  type: string;
  xml: string;
  status: 'QUEUED' | 'PROCESSING' | 'DONE' | 'FAILED';
  errors: { code: string; message: string }[];
  documentId?: string;
  createdAt: string;
}

/** A document the simulator holds: imported and sent, or inbound. */
export interface IeRacuniDocument {
  documentId: string;
  /** Set for documents sent through an import. */
  importId?: string;
  /** Inbox position of the recipient (1, 2, …), for inbound paging. */
  seq: number;
  senderOib: string;
  recipientOib: string;
  number: string;
  xml: string;
  /** SENT, DELIVERED, ACCEPTED or REJECTED. */
  status: string;
  createdAt: string;
}

/** A running IE-Računi API v4 simulator. */
export interface IeRacuniSimulator {
  readonly url: string;
  /** The integrator's Basic credentials. */
  registerIntegrator(username: string, password: string): void;
  /** A tenant's OIB and Token. */
  registerTenant(oib: string, token: string): void;
  revokeTenant(oib: string): void;
  injectFault(fault: SimulatorFault): void;
  /**
   * Imports wait in QUEUED until processed: after `ms` (default 30), or
   * only on `processImports()` when set to `'manual'`.
   */
  setProcessing(mode: number | 'manual'): void;
  /** Processes every queued import now. */
  processImports(): Promise<void>;
  /** Places a document in the recipient's inbox; returns it. */
  deliverInbound(inbound: {
    xml: string;
    recipientOib?: string;
    senderOib?: string;
  }): IeRacuniDocument;
  setStatus(documentId: string, status: string): void;
  reset(): void;
  imports(): IeRacuniImport[];
  documents(): IeRacuniDocument[];
  close(): Promise<void>;
}

export interface IeRacuniSimulatorOptions {
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Schema check for imported UBL. Default: the repository's UBL XSDs. */
  validator?: UblSchemaValidator;
  /** Default 20 MiB (base64 of the XML). */
  bodyLimit?: number;
}

interface State {
  integrators: Map<string, string>;
  tenants: Map<string, string>;
  imports: IeRacuniImport[];
  documents: IeRacuniDocument[];
  processing: number | 'manual';
  timers: Set<NodeJS.Timeout>;
  nextSeq: number;
}

const BASE = '/api/v4';
const MAX_PAGE = 500;

/**
 * Starts a loopback simulator of IE-Računi API v4 (PROTOCOLS.md,
 * "Intermediaries"): Basic auth for the integrator plus per-tenant `OIB`
 * and `Token` headers; imports processed asynchronously (schema check,
 * supplier = the tenant's OIB) and polled by id; errors as
 * `{code, message, errors?}`. It logs nothing and shares no code with
 * the client.
 */
export async function startIeRacuniSimulator(
  options: IeRacuniSimulatorOptions = {},
): Promise<IeRacuniSimulator> {
  const validator = options.validator ?? createUblSchemaValidator();
  const state: State = {
    integrators: new Map(),
    tenants: new Map(),
    imports: [],
    documents: [],
    processing: 30,
    timers: new Set(),
    nextSeq: 1,
  };
  const faults = new FaultQueue();
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 20 * 1024 * 1024,
    forceCloseConnections: true,
  });
  const processOne = (imp: IeRacuniImport) =>
    processImport(state, validator, imp);

  faults.register(app, (status) =>
    status === 429
      ? { code: 'RATE_LIMITED', message: 'Too many requests' }
      : { code: 'INTERNAL_ERROR', message: 'Internal server error' },
  );
  registerAuth(app, state, faults);
  registerRoutes(app, state, faults, (imp) => {
    if (state.processing === 'manual') return;
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      void processOne(imp);
    }, state.processing);
    state.timers.add(timer);
  });
  await app.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  });

  return {
    url: originOf(app),
    registerIntegrator: (u, p) => void state.integrators.set(u, p),
    registerTenant: (oib, token) => void state.tenants.set(oib, token),
    revokeTenant: (oib) => void state.tenants.delete(oib),
    injectFault: (fault) => faults.inject(fault),
    setProcessing: (mode) => {
      state.processing = mode;
    },
    processImports: async () => {
      const queued = state.imports.filter((i) => i.status === 'QUEUED');
      for (const imp of queued) await processOne(imp);
    },
    deliverInbound: (inbound) => {
      const facts = readSimulatedUbl(inbound.xml);
      return {
        ...storeDocument(state, {
          senderOib: inbound.senderOib ?? facts.supplierOib ?? '',
          recipientOib: inbound.recipientOib ?? facts.customerOib ?? '',
          number: facts.documentNumber,
          xml: inbound.xml,
        }),
      };
    },
    setStatus: (documentId, status) => {
      const doc = state.documents.find((d) => d.documentId === documentId);
      if (!doc) throw new Error(`No document ${documentId}`);
      doc.status = status;
    },
    reset: () => {
      state.integrators.clear();
      state.tenants.clear();
      state.imports.length = 0;
      state.documents.length = 0;
      state.processing = 30;
      state.timers.forEach(clearTimeout);
      state.timers.clear();
      faults.clear();
    },
    imports: () => state.imports.map((i) => ({ ...i })),
    documents: () => state.documents.map((d) => ({ ...d })),
    close: async () => {
      state.timers.forEach(clearTimeout);
      faults.close();
      await app.close();
    },
  };
}

/** Basic for the integrator (401), then OIB + Token for the tenant (403). */
function registerAuth(app: FastifyInstance, state: State, faults: FaultQueue) {
  app.addHook('preHandler', async (request, reply) => {
    if (!integratorOk(request, state)) {
      return faults.answer(request, reply, 401, {
        code: 'UNAUTHORIZED',
        message: 'Invalid integrator credentials',
      });
    }
    if (tenantOib(request, state) === undefined) {
      return faults.answer(request, reply, 403, {
        code: 'FORBIDDEN',
        message: 'Unknown OIB or invalid token',
      });
    }
  });
  app.setNotFoundHandler((request, reply) =>
    faults.answer(request, reply, 404, {
      code: 'NOT_FOUND',
      message: 'Not found',
    }),
  );
  app.setErrorHandler((error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) {
      return faults.answer(request, reply, 500, {
        code: 'INTERNAL_ERROR',
        message: 'Internal server error',
      });
    }
    return faults.answer(request, reply, status, {
      code: 'BAD_REQUEST',
      message: error instanceof Error ? error.message : 'Bad request',
    });
  });
}

function registerRoutes(
  app: FastifyInstance,
  state: State,
  faults: FaultQueue,
  schedule: (imp: IeRacuniImport) => void,
): void {
  app.get(`${BASE}/ping`, (request, reply) =>
    faults.answer(request, reply, 200, { status: 'ok' }),
  );

  app.post(`${BASE}/import`, (request, reply) => {
    const problems = importProblems(request.body);
    if (problems.length > 0) {
      return faults.answer(request, reply, 400, {
        code: 'BAD_REQUEST',
        message: 'The import request is invalid',
        errors: problems,
      });
    }
    const body = request.body as { type: string; file: string };
    const imp: IeRacuniImport = {
      importId: randomUUID(),
      oib: tenantOib(request, state) as string,
      type: body.type,
      xml: Buffer.from(body.file, 'base64').toString('utf8'),
      status: 'QUEUED',
      errors: [],
      createdAt: new Date().toISOString(),
    };
    state.imports.push(imp);
    schedule(imp);
    return faults.answer(request, reply, 202, {
      importId: imp.importId,
      status: imp.status,
      createdAt: imp.createdAt,
    });
  });

  app.get<{ Params: { id: string } }>(
    `${BASE}/import/:id`,
    (request, reply) => {
      const imp = state.imports.find(
        (i) =>
          i.importId === request.params.id &&
          i.oib === tenantOib(request, state),
      );
      if (!imp) return notFound(request, reply, faults, 'import');
      return faults.answer(request, reply, 200, {
        importId: imp.importId,
        status: imp.status,
        ...(imp.documentId ? { documentId: imp.documentId } : {}),
        ...(imp.status === 'FAILED' ? { errors: imp.errors } : {}),
      });
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    `${BASE}/documents/outgoing`,
    (request, reply) => {
      const oib = tenantOib(request, state);
      const { number, from } = request.query;
      const since = from === undefined ? undefined : Date.parse(from);
      const items = state.imports
        .filter((i) => i.oib === oib && i.status !== 'FAILED')
        .map((i) => outgoingItem(state, i))
        .filter((item) => number === undefined || item.number === number)
        .filter(
          (item) => since === undefined || Date.parse(item.createdAt) >= since,
        );
      return faults.answer(request, reply, 200, { items });
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    `${BASE}/documents/incoming`,
    (request, reply) => {
      const oib = tenantOib(request, state);
      const after = Number(request.query.after ?? '0');
      const limit = Math.min(Number(request.query.limit ?? '100'), MAX_PAGE);
      const items = state.documents
        .filter((d) => d.recipientOib === oib && d.seq > after)
        .slice(0, Number.isFinite(limit) && limit > 0 ? limit : 100)
        .map((d) => ({
          documentId: d.documentId,
          seq: d.seq,
          senderOib: d.senderOib,
          number: d.number,
          status: d.status,
          receivedAt: d.createdAt,
        }));
      return faults.answer(request, reply, 200, { items });
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/documents/:id`,
    (request, reply) => {
      const doc = visibleDocument(request, state);
      if (!doc) return notFound(request, reply, faults, 'document');
      return faults.answer(request, reply, 200, {
        documentId: doc.documentId,
        number: doc.number,
        status: doc.status,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/documents/:id/xml`,
    (request, reply) => {
      const doc = visibleDocument(request, state);
      if (!doc) return notFound(request, reply, faults, 'document');
      return faults.answer(request, reply, 200, {
        documentId: doc.documentId,
        file: Buffer.from(doc.xml, 'utf8').toString('base64'),
      });
    },
  );
}

/** The verdict on an import: schema, then supplier = the tenant's OIB. */
async function processImport(
  state: State,
  validator: UblSchemaValidator,
  imp: IeRacuniImport,
): Promise<void> {
  if (imp.status !== 'QUEUED') return;
  imp.status = 'PROCESSING';
  const check = await validator.validate(imp.xml);
  if (!check.valid) {
    imp.status = 'FAILED';
    imp.errors = check.errors.map((e) => ({
      code: 'SCHEMA',
      message: `line ${e.line}: ${e.message}`,
    }));
    return;
  }
  const facts = readSimulatedUbl(imp.xml);
  if (facts.supplierOib !== imp.oib) {
    imp.status = 'FAILED';
    imp.errors = [
      {
        code: 'SELLER_MISMATCH',
        message: 'The supplier EndpointID (9934) is not the OIB of the token',
      },
    ];
    return;
  }
  const doc = storeDocument(state, {
    importId: imp.importId,
    senderOib: imp.oib,
    recipientOib: facts.customerOib ?? '',
    number: facts.documentNumber,
    xml: imp.xml,
  });
  imp.documentId = doc.documentId;
  imp.status = 'DONE';
}

function storeDocument(
  state: State,
  input: Omit<IeRacuniDocument, 'documentId' | 'seq' | 'status' | 'createdAt'>,
): IeRacuniDocument {
  const doc: IeRacuniDocument = {
    ...input,
    documentId: randomUUID(),
    seq: state.nextSeq++,
    status: 'SENT',
    createdAt: new Date().toISOString(),
  };
  state.documents.push(doc);
  return doc;
}

/** Queued imports are listed too, so a lost reply can be found at once. */
function outgoingItem(state: State, imp: IeRacuniImport) {
  const doc = state.documents.find((d) => d.documentId === imp.documentId);
  return {
    importId: imp.importId,
    documentId: imp.documentId ?? null,
    sellerOib: imp.oib,
    number: doc?.number ?? readNumber(imp.xml),
    status: doc?.status ?? imp.status,
    createdAt: imp.createdAt,
  };
}

function readNumber(xml: string): string {
  try {
    return readSimulatedUbl(xml).documentNumber;
  } catch {
    return '';
  }
}

function importProblems(body: unknown): { field: string; message: string }[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ field: '', message: 'The body must be a JSON object' }];
  }
  const { type, file } = body as Record<string, unknown>;
  const problems: { field: string; message: string }[] = [];
  if (type !== 'INVOICE' && type !== 'CREDIT_NOTE') {
    problems.push({ field: 'type', message: 'INVOICE or CREDIT_NOTE' });
  }
  if (
    typeof file !== 'string' ||
    file === '' ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(file)
  ) {
    problems.push({ field: 'file', message: 'The XML, base64-encoded' });
  }
  return problems;
}

function visibleDocument(
  request: FastifyRequest<{ Params: { id: string } }>,
  state: State,
): IeRacuniDocument | undefined {
  const oib = tenantOib(request, state);
  return state.documents.find(
    (d) =>
      d.documentId === request.params.id &&
      (d.senderOib === oib || d.recipientOib === oib),
  );
}

function notFound(
  request: FastifyRequest,
  reply: FastifyReply,
  faults: FaultQueue,
  what: string,
): FastifyReply {
  return faults.answer(request, reply, 404, {
    code: 'NOT_FOUND',
    message: `No such ${what}`,
  });
}

function integratorOk(request: FastifyRequest, state: State): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(header);
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const password = state.integrators.get(decoded.slice(0, colon));
  return password !== undefined && password === decoded.slice(colon + 1);
}

function tenantOib(request: FastifyRequest, state: State): string | undefined {
  const oib = request.headers.oib;
  const token = request.headers.token;
  if (typeof oib !== 'string' || typeof token !== 'string') return undefined;
  return state.tenants.get(oib) === token ? oib : undefined;
}
