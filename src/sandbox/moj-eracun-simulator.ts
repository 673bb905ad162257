import { randomInt } from 'node:crypto';
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

/** A document the simulator holds: sent through it, or delivered to it. */
export interface MojEracunDocument {
  electronicId: number;
  senderOib: string;
  recipientOib: string;
  documentNumber: string;
  xml: string;
  /** 10 preparing, 20 validating, 30 sent, 40 delivered, 45, 50. */
  statusId: number;
  /** Whether it came in through `send` (else injected as inbound). */
  sentThroughApi: boolean;
  softwareId: string;
  created: string;
  sent: string;
  updated: string;
}

/** An inbound document to place in a company's inbox. */
export interface MojEracunInbound {
  xml: string;
  /** Default: the document's customer OIB. */
  recipientOib?: string;
  /** Default: the document's supplier OIB. */
  senderOib?: string;
  /** Default: now. */
  sentAt?: string;
}

/** A running Moj-eRačun API v2 simulator. */
export interface MojEracunSimulator {
  /** Origin to give the client, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Credentials of one company (CompanyId = its OIB). */
  registerAccount(account: {
    username: string;
    password: string;
    companyId: string;
  }): void;
  revokeAccount(username: string): void;
  injectFault(fault: SimulatorFault): void;
  /** Places a document in the recipient's inbox; returns it. */
  deliverInbound(inbound: MojEracunInbound): MojEracunDocument;
  /** Moves a document to a transport status (e.g. 40 delivered). */
  setStatus(electronicId: number, statusId: number): void;
  /** Forgets accounts, documents and pending faults. */
  reset(): void;
  /** Every document held, oldest first. */
  documents(): MojEracunDocument[];
  close(): Promise<void>;
}

export interface MojEracunSimulatorOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 0 (any free port). */
  port?: number;
  /** Schema check for received UBL. Default: the repository's UBL XSDs. */
  validator?: UblSchemaValidator;
  /** Largest accepted request body in bytes. Default 20 MiB. */
  bodyLimit?: number;
}

interface Account {
  password: string;
  companyId: string;
}

interface State {
  accounts: Map<string, Account>;
  documents: MojEracunDocument[];
  nextId: number;
}

type Body = Record<string, unknown>;

const BASE = '/apis/v2';
const STATUS_NAMES: Record<number, string> = {
  10: 'U pripremi',
  20: 'Validiranje',
  30: 'Poslano',
  40: 'Dostavljeno',
  45: 'Poništeno',
  50: 'Neuspjelo',
};

/**
 * Starts a loopback simulator of Moj-eRačun API v2 (PROTOCOLS.md,
 * "Intermediaries"): credentials in every JSON body, field-keyed errors
 * (`{Field: {Value, Messages}}`), a schema-invalid document refused with
 * HTTP 200 as the real service sometimes does. A document sent to a
 * company registered here lands in its inbox. It logs nothing and
 * shares no code with the client.
 */
export async function startMojEracunSimulator(
  options: MojEracunSimulatorOptions = {},
): Promise<MojEracunSimulator> {
  const validator = options.validator ?? createUblSchemaValidator();
  const state: State = {
    accounts: new Map(),
    documents: [],
    // Not starting at 1, so that ids confused with row numbers stand out.
    nextId: 3_000_000 + randomInt(1_000_000),
  };
  const faults = new FaultQueue();
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 20 * 1024 * 1024,
    forceCloseConnections: true,
  });

  faults.register(app, (status) =>
    status === 429
      ? { Message: 'Too many requests' }
      : { Message: 'An error has occurred.' },
  );
  registerErrorHandlers(app, faults);
  registerRoutes(app, state, faults, validator);
  await app.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  });

  return {
    url: originOf(app),
    registerAccount: ({ username, password, companyId }) =>
      void state.accounts.set(username, { password, companyId }),
    revokeAccount: (username) => void state.accounts.delete(username),
    injectFault: (fault) => faults.inject(fault),
    deliverInbound: (inbound) => ({ ...storeInbound(state, inbound) }),
    setStatus: (electronicId, statusId) => {
      const doc = state.documents.find((d) => d.electronicId === electronicId);
      if (!doc) throw new Error(`No document ${electronicId}`);
      doc.statusId = statusId;
      doc.updated = new Date().toISOString();
    },
    reset: () => {
      state.accounts.clear();
      state.documents.length = 0;
      faults.clear();
    },
    documents: () => state.documents.map((doc) => ({ ...doc })),
    close: async () => {
      faults.close();
      await app.close();
    },
  };
}

function registerErrorHandlers(app: FastifyInstance, faults: FaultQueue) {
  app.setNotFoundHandler((request, reply) =>
    faults.answer(request, reply, 404, {
      Message: 'No HTTP resource was found that matches the request URI.',
    }),
  );
  app.setErrorHandler((error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) {
      return faults.answer(request, reply, 500, {
        Message: 'An error has occurred.',
      });
    }
    return faults.answer(request, reply, status, {
      Request: fieldError(null, 'The request is invalid.'),
    });
  });
}

function registerRoutes(
  app: FastifyInstance,
  state: State,
  faults: FaultQueue,
  validator: UblSchemaValidator,
): void {
  app.get(`${BASE}/Ping`, (request, reply) =>
    faults.answer(request, reply, 200, { Status: 'ok', Message: 'pong' }),
  );

  app.post(`${BASE}/send`, async (request, reply) => {
    const account = authenticate(request, reply, state, faults);
    if (!account) return reply;
    return handleSend(request, reply, state, faults, validator, account);
  });

  app.post(`${BASE}/queryOutbox`, (request, reply) => {
    const account = authenticate(request, reply, state, faults);
    if (!account) return reply;
    const filter = request.body as Body;
    const list = state.documents
      .filter((d) => d.sentThroughApi && d.senderOib === account.companyId)
      .filter((d) => matches(d, filter, d.created))
      .map(outboxItem);
    return faults.answer(request, reply, 200, list);
  });

  app.post(`${BASE}/queryInbox`, (request, reply) => {
    const account = authenticate(request, reply, state, faults);
    if (!account) return reply;
    const filter = request.body as Body;
    const list = state.documents
      .filter((d) => d.recipientOib === account.companyId)
      .filter((d) => matches(d, filter, d.sent))
      .filter((d) => filter.Filter !== 'Undelivered' || d.statusId < 40)
      .map(inboxItem);
    return faults.answer(request, reply, 200, list);
  });

  app.post(`${BASE}/receive`, (request, reply) => {
    const account = authenticate(request, reply, state, faults);
    if (!account) return reply;
    const id = Number((request.body as Body).ElectronicId);
    const doc = state.documents.find(
      (d) =>
        d.electronicId === id &&
        (d.recipientOib === account.companyId ||
          d.senderOib === account.companyId),
    );
    if (!doc) {
      return faults.answer(request, reply, 404, {
        ElectronicId: fieldError(id, 'Document not found.'),
      });
    }
    return faults.answer(request, reply, 200, doc.xml, 'application/xml');
  });
}

async function handleSend(
  request: FastifyRequest,
  reply: FastifyReply,
  state: State,
  faults: FaultQueue,
  validator: UblSchemaValidator,
  account: Account,
): Promise<FastifyReply> {
  const body = request.body as Body;
  const missing: Body = {};
  if (typeof body.SoftwareId !== 'string' || body.SoftwareId === '') {
    missing.SoftwareId = fieldError(null, 'SoftwareId is required.');
  }
  if (typeof body.File !== 'string' || body.File === '') {
    missing.File = fieldError(null, 'File is required.');
  }
  if (Object.keys(missing).length > 0) {
    return faults.answer(request, reply, 400, missing);
  }
  const xml = body.File as string;

  const check = await validator.validate(xml);
  if (!check.valid) {
    // The real service sometimes refuses a document with HTTP 200.
    return faults.answer(request, reply, 200, {
      File: {
        Value: null,
        Messages: check.errors.map((e) => `line ${e.line}: ${e.message}`),
      },
    });
  }
  const facts = readSimulatedUbl(xml);
  if (facts.supplierOib !== account.companyId) {
    return faults.answer(request, reply, 403, {
      CompanyId: fieldError(
        account.companyId,
        'The document supplier is not the company of these credentials.',
      ),
    });
  }

  const now = new Date().toISOString();
  const doc: MojEracunDocument = {
    electronicId: state.nextId++,
    senderOib: account.companyId,
    recipientOib: facts.customerOib ?? '',
    documentNumber: facts.documentNumber,
    xml,
    statusId: 30,
    sentThroughApi: true,
    softwareId: body.SoftwareId as string,
    created: now,
    sent: now,
    updated: now,
  };
  state.documents.push(doc);
  return faults.answer(request, reply, 200, {
    ...outboxItem(doc),
    Modified: now,
  });
}

/**
 * The credentials of the body, or a 401 with field-keyed errors. The
 * username is echoed as the real service does; the password never is.
 */
function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  state: State,
  faults: FaultQueue,
): Account | undefined {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    faults.answer(request, reply, 400, {
      Request: fieldError(null, 'The request body must be a JSON object.'),
    });
    return undefined;
  }
  const { Username, Password, CompanyId } = body as Body;
  const account =
    typeof Username === 'string' ? state.accounts.get(Username) : undefined;
  if (account && account.password === Password) {
    if (account.companyId === CompanyId) return account;
    faults.answer(request, reply, 403, {
      CompanyId: fieldError(
        CompanyId,
        'The user has no access to the company.',
      ),
    });
    return undefined;
  }
  faults.answer(request, reply, 401, {
    Username: fieldError(Username ?? null, 'Invalid username or password.'),
  });
  return undefined;
}

function storeInbound(
  state: State,
  inbound: MojEracunInbound,
): MojEracunDocument {
  const facts = readSimulatedUbl(inbound.xml);
  const sent = inbound.sentAt ?? new Date().toISOString();
  const doc: MojEracunDocument = {
    electronicId: state.nextId++,
    senderOib: inbound.senderOib ?? facts.supplierOib ?? '',
    recipientOib: inbound.recipientOib ?? facts.customerOib ?? '',
    documentNumber: facts.documentNumber,
    xml: inbound.xml,
    statusId: 30,
    sentThroughApi: false,
    softwareId: '',
    created: sent,
    sent,
    updated: sent,
  };
  state.documents.push(doc);
  return doc;
}

/** The query filters: ElectronicId, StatusId and the From/To window. */
function matches(doc: MojEracunDocument, filter: Body, time: string) {
  if (filter.ElectronicId !== undefined) {
    if (Number(filter.ElectronicId) !== doc.electronicId) return false;
  }
  if (filter.StatusId !== undefined) {
    if (Number(filter.StatusId) !== doc.statusId) return false;
  }
  const at = Date.parse(time);
  if (typeof filter.From === 'string' && at < Date.parse(filter.From)) {
    return false;
  }
  if (typeof filter.To === 'string' && at > Date.parse(filter.To)) {
    return false;
  }
  return true;
}

function outboxItem(doc: MojEracunDocument) {
  return {
    ElectronicId: doc.electronicId,
    DocumentNr: doc.documentNumber,
    DocumentTypeId: 1,
    DocumentTypeName: 'Račun',
    StatusId: doc.statusId,
    StatusName: STATUS_NAMES[doc.statusId] ?? '',
    RecipientBusinessNumber: doc.recipientOib,
    RecipientBusinessUnit: '',
    RecipientBusinessName: '',
    Created: doc.created,
    Updated: doc.updated,
    Sent: doc.sent,
    Delivered: doc.statusId >= 40 ? doc.updated : null,
  };
}

function inboxItem(doc: MojEracunDocument) {
  return {
    ElectronicId: doc.electronicId,
    DocumentNr: doc.documentNumber,
    DocumentTypeId: 1,
    DocumentTypeName: 'Račun',
    StatusId: doc.statusId,
    StatusName: STATUS_NAMES[doc.statusId] ?? '',
    SenderBusinessNumber: doc.senderOib,
    SenderBusinessUnit: '',
    SenderBusinessName: '',
    Updated: doc.updated,
    Sent: doc.sent,
    Delivered: doc.statusId >= 40 ? doc.updated : null,
    Imported: false,
  };
}

function fieldError(value: unknown, message: string) {
  return { Value: value, Messages: [message] };
}
