import type { Agent } from 'node:https';
import {
  invalidInput,
  TenantGateError,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import type { CertificateSigner } from '../vault/vault.js';
import {
  checkEndpoint,
  exchange,
  findings,
  isUnavailableStatus,
  unavailable,
  type ExchangeContext,
} from './counterpart-http.js';
import {
  child,
  echoMessage,
  incomingDocumentMessage,
  incomingListMessage,
  listOf,
  oibOf,
  parseSoapReply,
  sendMessage,
  statusMessage,
  textOf,
} from './fina/messages.js';
import { signedEnvelope, signUbl } from './fina/signing.js';
import type {
  DocumentStatus,
  IncomingPage,
  IntermediaryClient,
  OutgoingDocument,
  RequestAuthoriser,
  SendOptions,
  SendResult,
} from './intermediary.js';
import { readUblFacts } from './ubl-facts.js';

export interface FinaClientOptions {
  /**
   * Origin of the service; the client posts to
   * `/B2BFinaInvoiceWebService` under it. No default: accounts name it.
   */
  baseUrl: string;
  /**
   * CA certificates (PEM) FINA's server certificate must chain to.
   * Default: Node's bundled CAs.
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Time allowed for one request, reply included. Default 30 000 ms. */
  timeoutMs?: number;
  /** Most inbox documents asked for per `incoming` page. Default 100. */
  pageSize?: number;
}

type Operation =
  'send' | 'status' | 'ping' | 'outgoing' | 'incoming' | 'fetchDocument';

/** What the FINA client needs from the authoriser: mutual TLS + signing. */
interface FinaCredential {
  agent: Agent;
  signer: CertificateSigner;
}

const KIND = 'EINVOICE_FINA';
const LABEL = 'FINA';
const PATH = '/B2BFinaInvoiceWebService';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 100;

/** SOAP fault codes of a refused WS-Security header or signature. */
const AUTH_FAULTS = new Set([
  'FailedAuthentication',
  'InvalidSecurity',
  'InvalidSecurityToken',
  'FailedCheck',
  'SecurityTokenUnavailable',
]);

/**
 * The FINA e-Račun B2B client (PROTOCOLS.md): SOAP 1.1 over two-way TLS,
 * a WS-Security signature on every message and the UBL signed inside.
 * The tenant's certificate comes from the authoriser (a sealed PKCS#12:
 * `tlsAgent` and `signer`); the supplier/buyer id of each message is the
 * certificate's OIB. FINA reports e-invoices to the Tax Administration
 * itself (see the account's `reportsToTaxAuthority`).
 *
 * Send: `MessageAck/AckStatus` REJECTED or an incorrect invoice is
 * COUNTERPART_REJECTED; a correct invoice gives FINA's `InvoiceID`.
 */
export function createFinaClient(
  options: FinaClientOptions,
): IntermediaryClient {
  const { origin, timeoutMs } = checkEndpoint(
    options.baseUrl,
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw invalidInput('pageSize', 'positive', 'pageSize must be > 0');
  }
  const url = origin + PATH;

  const call = async (
    operation: Operation,
    auth: RequestAuthoriser,
    build: (oib: string) => { xml: string },
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> => {
    const credential = credentialOf(auth, options.ca);
    try {
      const body = build(credential.signer.certificate.oib).xml;
      const envelope = signedEnvelope(body, credential.signer);
      return await soapCall(
        url,
        timeoutMs,
        operation,
        envelope,
        credential,
        signal,
      );
    } finally {
      credential.agent.destroy();
    }
  };

  const statusList = async (
    operation: Operation,
    auth: RequestAuthoriser,
    filter: Parameters<typeof statusMessage>[1],
  ) => {
    const reply = await call(operation, auth, (oib) =>
      statusMessage(oib, filter),
    );
    requireAck(reply, operation);
    return listOf(
      child(reply, 'B2BOutgoingInvoiceStatusList'),
      'B2BOutgoingInvoiceStatus',
    );
  };

  return {
    kind: KIND,

    async send(doc, auth, opts: SendOptions = {}): Promise<SendResult> {
      if (doc.ublXml === '') {
        throw invalidInput('ublXml', 'required', 'The UBL document is empty');
      }
      const facts = readUblFacts(doc.ublXml);
      const reply = await call(
        'send',
        auth,
        (oib) => {
          if (facts.sellerOib !== oib) {
            throw invalidInput(
              'ublXml',
              'seller-is-certificate-oib',
              'The seller OIB is not the OIB of the account certificate',
              { providerKind: KIND },
            );
          }
          return sendMessage({
            supplierOib: oib,
            supplierInvoiceId: facts.number,
            buyerOib: facts.buyerOib,
            signedUbl: signUbl(doc.ublXml, signerOf(auth)),
          });
        },
        opts.signal,
      );
      requireAck(reply, 'send');
      return toSendResult(reply);
    },

    async status(providerRef, auth): Promise<DocumentStatus> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No FINA InvoiceID');
      }
      const items = await statusList('status', auth, {
        invoiceId: providerRef,
      });
      const item = items.find((i) => textOf(i, 'InvoiceID') === providerRef);
      if (!item) {
        throw new TenantGateError(
          'COUNTERPART_REJECTED',
          'FINA does not know the invoice',
          { providerKind: KIND, operation: 'status', providerRef },
        );
      }
      return { providerRef, status: textOf(item, 'InvoiceStatus') };
    },

    async outgoing(query, auth): Promise<OutgoingDocument[]> {
      const items = await statusList('outgoing', auth, {
        supplierInvoiceId: query.documentNumber,
        from: query.since,
      });
      return items
        .map((i) => ({
          providerRef: textOf(i, 'InvoiceID'),
          sellerOib: oibOf(textOf(i, 'SupplierID')),
          documentNumber: textOf(i, 'SupplierInvoiceID'),
          status: textOf(i, 'InvoiceStatus'),
          submittedAt: textOf(i, 'InvoiceTimestamp'),
        }))
        .filter((d) => d.sellerOib === query.sellerOib);
    },

    async incoming(cursor, auth): Promise<IncomingPage> {
      if (cursor !== null && !/^\d+$/.test(cursor)) {
        throw invalidInput('cursor', 'format', 'Not a FINA inbox cursor');
      }
      const reply = await call('incoming', auth, (oib) =>
        incomingListMessage(oib, cursor ?? '0', pageSize),
      );
      requireAck(reply, 'incoming');
      const items = listOf(
        child(reply, 'B2BIncomingInvoiceList'),
        'B2BIncomingInvoice',
      );
      const last = items.at(-1);
      return {
        documents: items.map((i) => ({
          providerRef: textOf(i, 'InvoiceID'),
          senderOib: oibOf(textOf(i, 'SupplierID')),
          documentNumber: textOf(i, 'SupplierInvoiceID'),
          receivedAt: textOf(i, 'InvoiceTimestamp'),
        })),
        nextCursor: last ? textOf(last, 'Sequence') : cursor,
      };
    },

    async fetchDocument(providerRef, auth): Promise<{ ublXml: string }> {
      if (providerRef === '') {
        throw invalidInput('providerRef', 'required', 'No FINA InvoiceID');
      }
      const reply = await call('fetchDocument', auth, (oib) =>
        incomingDocumentMessage(oib, providerRef),
      );
      requireAck(reply, 'fetchDocument');
      const envelope = textOf(
        child(reply, 'B2BIncomingInvoiceEnvelope'),
        'InvoiceEnvelope',
      );
      if (envelope === '') {
        throw replyInvalid('fetchDocument', 'InvoiceEnvelope');
      }
      return { ublXml: Buffer.from(envelope, 'base64').toString('utf8') };
    },

    async ping(auth): Promise<void> {
      const text = `ping ${Date.now()}`;
      const reply = await call('ping', auth, (oib) => echoMessage(oib, text));
      if (textOf(reply, 'EchoData') !== text) {
        throw replyInvalid('ping', 'EchoData');
      }
    },
  };
}

/** The authoriser's mutual-TLS agent and signer, or VAULT_SECRET_INVALID. */
function credentialOf(
  auth: RequestAuthoriser,
  ca: FinaClientOptions['ca'],
): FinaCredential {
  const signer = signerOf(auth);
  const agent = auth.tlsAgent?.(ca === undefined ? {} : { ca });
  if (!agent) throw needsCertificate();
  return { agent, signer };
}

function signerOf(auth: RequestAuthoriser): CertificateSigner {
  if (!auth.signer) throw needsCertificate();
  return auth.signer;
}

function needsCertificate(): TenantGateError {
  return new TenantGateError(
    'VAULT_SECRET_INVALID',
    'A FINA account needs a PKCS#12 certificate as its secret',
    { providerKind: KIND, rule: 'pkcs12-required' },
  );
}

/**
 * One SOAP exchange. Returns the Body's message; HTTP 429/5xx, SOAP
 * Faults and unreadable replies become TenantGateErrors here.
 */
async function soapCall(
  url: string,
  timeoutMs: number,
  operation: Operation,
  envelope: string,
  credential: FinaCredential,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const ctx: ExchangeContext = {
    kind: KIND,
    label: LABEL,
    operation,
    mutating: operation === 'send',
    timeoutMs,
  };
  const reply = await exchange(ctx, {
    url,
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: '""',
      accept: 'text/xml',
    },
    body: envelope,
    agent: credential.agent,
    signal,
  });
  const parsed = parseSoapReply(reply.text);
  const details: ErrorDetails = {
    providerKind: KIND,
    operation,
    status: reply.status,
  };
  if (parsed.kind === 'fault') {
    details.faultCode = parsed.code;
    details.providerMessage = parsed.message.slice(0, 2_000);
    if (AUTH_FAULTS.has(parsed.code)) {
      throw new TenantGateError(
        'COUNTERPART_AUTH_FAILED',
        'FINA refused the message security',
        details,
      );
    }
    if (parsed.code === 'Client') {
      throw new TenantGateError(
        'COUNTERPART_REJECTED',
        'FINA refused the message',
        details,
      );
    }
    throw unavailable(ctx, reply, { faultCode: parsed.code });
  }
  if (isUnavailableStatus(reply.status)) throw unavailable(ctx, reply);
  if (reply.status === 401 || reply.status === 403) {
    throw new TenantGateError(
      'COUNTERPART_AUTH_FAILED',
      'FINA refused the client certificate',
      details,
    );
  }
  if (parsed.kind === 'invalid' || reply.status >= 300) {
    if (operation === 'send' && reply.status < 300) {
      // Accepted at HTTP level, but we cannot read whether it was taken.
      throw new TenantGateError(
        'SEND_OUTCOME_UNKNOWN',
        'FINA answered the send with a reply we cannot read',
        details,
      );
    }
    throw new TenantGateError(
      'COUNTERPART_REPLY_INVALID',
      'FINA answered with something other than a SOAP message',
      details,
    );
  }
  return parsed.content;
}

/** `MessageAck/AckStatus` must be ACCEPTED. */
function requireAck(reply: Record<string, unknown>, operation: Operation) {
  const ack = child(reply, 'MessageAck');
  const status = textOf(ack, 'AckStatus');
  if (status === 'ACCEPTED') return;
  if (status === '') throw replyInvalid(operation, 'MessageAck/AckStatus');
  throw new TenantGateError(
    'COUNTERPART_REJECTED',
    'FINA rejected the message',
    {
      providerKind: KIND,
      operation,
      providerCode: textOf(ack, 'AckStatusCode'),
      errors: findings([textOf(ack, 'AckStatusText')], []),
    },
  );
}

function toSendResult(reply: Record<string, unknown>): SendResult {
  const processing = child(reply, 'B2BOutgoingInvoiceProcessing');
  const incorrect = listOf(processing, 'IncorrectB2BOutgoingInvoice');
  if (incorrect.length > 0) {
    const errors = incorrect.flatMap((i) =>
      listOf(i, 'Error').map(
        (e) => `${textOf(e, 'ErrorCode')}: ${textOf(e, 'ErrorMessage')}`,
      ),
    );
    throw new TenantGateError(
      'COUNTERPART_REJECTED',
      'FINA found the invoice incorrect',
      { providerKind: KIND, operation: 'send', errors: findings(errors, []) },
    );
  }
  const correct = child(processing, 'CorrectB2BOutgoingInvoice');
  const invoiceId = textOf(correct, 'InvoiceID');
  if (invoiceId === '') {
    throw new TenantGateError(
      'SEND_OUTCOME_UNKNOWN',
      'FINA acknowledged the send without an InvoiceID',
      { providerKind: KIND, operation: 'send' },
    );
  }
  const at = textOf(correct, 'InvoiceTimestamp');
  return {
    providerRef: invoiceId,
    acceptedAt: at || new Date().toISOString(),
    message: 'CorrectB2BOutgoingInvoice',
  };
}

function replyInvalid(operation: Operation, name: string): TenantGateError {
  return new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    `FINA answered without ${name}`,
    { providerKind: KIND, operation, field: name },
  );
}
