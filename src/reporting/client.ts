import { X509Certificate } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { XmlSigner } from '../fiscal/xml-signature.js';
import {
  buildEvidentirajERacun,
  buildEvidentirajIsporuku,
  buildEvidentirajNaplatu,
  buildEvidentirajOdbijanje,
} from './messages/build.js';
import type {
  ERacunDirection,
  InvoiceReport,
  PaymentReport,
  RejectionReport,
  ReportKind,
  ReportMessage,
} from './messages/types.js';
import {
  isReportCode,
  parseReportReply,
  REPLY_ROOTS,
  REPORT_CODES,
  soapEnvelope,
  type ReportReply,
} from './protocol.js';
import { signXades } from './xades.js';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const COUNTERPART = 'FISKALIZACIJA2';

export interface RetryOptions {
  /** Sends of one request in all, the first included. Default 4. */
  attempts?: number;
  /** The wait before the first resend; doubles each time. Default 250. */
  baseDelayMs?: number;
  /** The longest wait between two sends. Default 4 000 ms. */
  maxDelayMs?: number;
}

export interface ReportingClientOptions {
  /** The service endpoint (from configuration), http: or https:. */
  url: string;
  /** PEM of the CA(s) the TLS server must chain to. Default: Node's. */
  ca?: string | Buffer;
  /**
   * PEM of the CA(s) the reply's signer must chain to. When set, an
   * unsigned reply or one that does not verify is refused
   * (COUNTERPART_REPLY_INVALID). Default: replies are not verified.
   */
  replySignerCa?: string | Buffer;
  /** Time allowed for one request, connect to reply. Default 10 000 ms. */
  timeoutMs?: number;
  /** Resends after S001 and network faults. */
  retry?: RetryOptions;
  /** How to wait between resends. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** The clock for the reply certificate's validity. Default: now. */
  now?: () => Date;
}

/** What one record came to. */
export interface RecordOutcome {
  /** The record's 1-based number in the caller's list. */
  index: number;
  /** The S-code the service gave this record; null when none. */
  code: string | null;
  /** The service's text, or why the record was not sent. */
  message: string | null;
  /** Recorded now or before (S008). */
  ok: boolean;
  /** S008 (S010 for a rejection): recorded by an earlier report. */
  alreadyRecorded: boolean;
}

/** One request sent and the reply that settled it. */
export interface ReportExchange {
  requestId: string;
  replyId: string;
  /** The caller's 1-based record numbers this request carried. */
  records: number[];
  accepted: boolean;
  code: string | null;
  /** Sends of this request (1 without retries). */
  attempts: number;
  /** The signed request as sent (SOAP body element). */
  requestXml: string;
  /** The reply as received. */
  responseXml: string;
}

/** What a report came to, record by record. */
export interface ReportResult {
  kind: ReportKind;
  /** One per record, in the caller's order. */
  outcomes: RecordOutcome[];
  /** Every request sent, in order. */
  exchanges: ReportExchange[];
  /** True when every record is recorded (now or before). */
  ok: boolean;
}

export interface ReportOptions {
  /** `SigningTime` and `datumVrijemeSlanja`. Default: now. */
  now?: () => Date;
}

/**
 * The Tax Administration's Fiskalizacija 2.0 reporting over SOAP 1.1.
 * Each method builds the request from records (1–100), signs it with
 * XAdES-B through the signer capability, sends it, and reads the reply
 * by local name:
 *
 * - S001 and network faults are resent with backoff (`retry`); when
 *   they persist: COUNTERPART_UNAVAILABLE (retryable).
 * - S002–S006 refuse the request as a whole: REPORT_REJECTED with
 *   `details.code` and `details.recordNumber`.
 * - A record-level code (S007–S012) settles that record: S008 (and
 *   S010 for a rejection) means it was recorded before (ok,
 *   `alreadyRecorded`), the others refuse it.
 *   The service records nothing of a refused request, so the client
 *   sends the remaining records again in a new request, until every
 *   record has an outcome (at most one request per record).
 * - A reply that is not one: COUNTERPART_REPLY_INVALID.
 */
export class ReportingClient {
  readonly #options: ReportingClientOptions & {
    timeoutMs: number;
    attempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
    sleep: (ms: number) => Promise<void>;
    now: () => Date;
  };
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #replyCa: X509Certificate[] | null;

  constructor(options: ReportingClientOptions) {
    const url = new URL(options.url);
    this.#options = {
      ...options,
      timeoutMs: options.timeoutMs ?? 10_000,
      attempts: Math.max(1, options.retry?.attempts ?? 4),
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 4_000,
      sleep:
        options.sleep ??
        ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: options.now ?? (() => new Date()),
    };
    this.#agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            maxSockets: 8,
            ...(options.ca ? { ca: options.ca } : {}),
          })
        : new HttpAgent({ keepAlive: true, maxSockets: 8 });
    this.#replyCa = options.replySignerCa
      ? splitPem(options.replySignerCa)
      : null;
  }

  /** EvidentirajERacun: e-invoices, `I` outgoing or `U` incoming. */
  evidentirajERacun(
    records: readonly InvoiceReport[],
    signer: XmlSigner,
    options: ReportOptions & { direction: ERacunDirection },
  ): Promise<ReportResult> {
    return this.#report('ERACUN', records, signer, options, (batch, sentAt) =>
      buildEvidentirajERacun(batch, { direction: options.direction, sentAt }),
    );
  }

  /** EvidentirajNaplatu: payments of e-invoices. */
  evidentirajNaplatu(
    records: readonly PaymentReport[],
    signer: XmlSigner,
    options: ReportOptions = {},
  ): Promise<ReportResult> {
    return this.#report('NAPLATA', records, signer, options, (batch, sentAt) =>
      buildEvidentirajNaplatu(batch, { sentAt }),
    );
  }

  /** EvidentirajOdbijanje: rejections of e-invoices. */
  evidentirajOdbijanje(
    records: readonly RejectionReport[],
    signer: XmlSigner,
    options: ReportOptions = {},
  ): Promise<ReportResult> {
    return this.#report('ODBIJANJE', records, signer, options, (b, sentAt) =>
      buildEvidentirajOdbijanje(b, { sentAt }),
    );
  }

  /** EvidentirajIsporukuZaKojuNijeIzdanERacun. */
  evidentirajIsporuku(
    records: readonly InvoiceReport[],
    signer: XmlSigner,
    options: ReportOptions = {},
  ): Promise<ReportResult> {
    return this.#report('ISPORUKA', records, signer, options, (b, sentAt) =>
      buildEvidentirajIsporuku(b, { sentAt }),
    );
  }

  close(): void {
    this.#agent.destroy();
  }

  async #report<T>(
    kind: ReportKind,
    records: readonly T[],
    signer: XmlSigner,
    options: ReportOptions,
    build: (batch: T[], sentAt: Date) => ReportMessage,
  ): Promise<ReportResult> {
    const now = options.now ?? this.#options.now;
    // Build the whole batch first: invalid input fails before any send.
    build([...records], now());

    const outcomes: (RecordOutcome | undefined)[] = records.map(
      () => undefined,
    );
    const exchanges: ReportExchange[] = [];
    let pending = records.map((_, i) => i + 1);

    while (pending.length > 0) {
      const message = build(
        pending.map((n) => records[n - 1]!),
        now(),
      );
      const requestXml = signXades(message.xml, signer, {
        signingTime: now(),
      });
      const { reply, attempts, responseXml } = await this.#send(
        kind,
        requestXml,
        message,
      );
      exchanges.push({
        requestId: message.requestId,
        replyId: reply.replyId,
        records: pending,
        accepted: reply.accepted,
        code: reply.error?.code ?? null,
        attempts,
        requestXml: requestXml.replace(/^<\?xml[^>]*\?>/, ''),
        responseXml,
      });

      if (reply.accepted) {
        for (const n of pending) outcomes[n - 1] = recorded(n);
        break;
      }
      const settled = settle(kind, reply, pending, message);
      outcomes[settled.index - 1] = settled;
      pending = pending.filter((n) => n !== settled.index);
    }

    const complete = outcomes.map((o, i) => o ?? recorded(i + 1));
    return {
      kind,
      outcomes: complete,
      exchanges,
      ok: complete.every((o) => o.ok),
    };
  }

  /** Sends one signed request, resending after S001 or a network fault. */
  async #send(
    kind: ReportKind,
    requestXml: string,
    message: ReportMessage,
  ): Promise<{ reply: ReportReply; attempts: number; responseXml: string }> {
    const envelope = soapEnvelope(requestXml);
    let lastError: TenantGateError | undefined;
    for (let attempt = 1; attempt <= this.#options.attempts; attempt++) {
      if (attempt > 1) await this.#options.sleep(this.#delay(attempt - 1));
      let response: { status: number; body: string };
      try {
        response = await this.#post(envelope);
      } catch (error) {
        lastError = error as TenantGateError;
        continue;
      }
      const reply = this.#read(kind, response, message);
      if (reply === 'unavailable') {
        lastError = unavailable(
          `HTTP ${response.status} without a Fiskalizacija 2.0 reply`,
          { httpStatus: response.status },
        );
        continue;
      }
      if (reply.error?.code === 'S001') {
        lastError = unavailable(`S001: ${reply.error.message}`, {
          code: 'S001',
          requestId: message.requestId,
        });
        continue;
      }
      return { reply, attempts: attempt, responseXml: response.body };
    }
    throw new TenantGateError(
      'COUNTERPART_UNAVAILABLE',
      `Fiskalizacija 2.0 did not take the report after ${this.#options.attempts} attempts`,
      {
        counterpart: COUNTERPART,
        kind,
        requestId: message.requestId,
        attempts: this.#options.attempts,
        lastCode: lastError?.code ?? null,
        reason: lastError?.message ?? null,
      },
      lastError ? { cause: lastError } : undefined,
    );
  }

  #delay(resend: number): number {
    return Math.min(
      this.#options.maxDelayMs,
      this.#options.baseDelayMs * 2 ** (resend - 1),
    );
  }

  /** The reply, or 'unavailable' for a 5xx/0 without one. */
  #read(
    kind: ReportKind,
    response: { status: number; body: string },
    message: ReportMessage,
  ): ReportReply | 'unavailable' {
    let reply: ReportReply;
    try {
      reply = parseReportReply(response.body);
    } catch (error) {
      if (response.status >= 500 || response.status === 0) {
        return 'unavailable';
      }
      throw error;
    }
    if (reply.rootName !== REPLY_ROOTS[kind]) {
      throw replyInvalid(
        `expected ${REPLY_ROOTS[kind]}, got ${reply.rootName}`,
      );
    }
    if (reply.requestId !== message.requestId) {
      throw replyInvalid(
        `the reply answers request ${reply.requestId}, not ${message.requestId}`,
      );
    }
    if (this.#replyCa) this.#verifyReply(response.body);
    return reply;
  }

  /** The reply must be signed by a certificate of the configured CA. */
  #verifyReply(body: string): void {
    const doc = new DOMParser({ onError: () => undefined }).parseFromString(
      body,
      'text/xml',
    );
    const signature = Array.from(
      doc.getElementsByTagNameNS(DSIG_NS, 'Signature'),
    )[0];
    if (!signature) throw replyInvalid('the reply is not signed');
    const certText = Array.from(
      signature.getElementsByTagNameNS(DSIG_NS, 'X509Certificate'),
    )[0]?.textContent;
    if (!certText) throw replyInvalid('the reply has no signer certificate');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(certText, 'base64'));
    } catch (error) {
      throw replyInvalid('the reply signer certificate does not parse', error);
    }
    const now = this.#options.now().getTime();
    const trusted =
      now >= Date.parse(cert.validFrom) &&
      now <= Date.parse(cert.validTo) &&
      (this.#replyCa ?? []).some(
        (ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey),
      );
    if (!trusted) {
      throw replyInvalid('the reply signer is not from the configured CA');
    }
    const verifier = new SignedXml({ publicCert: cert.toString() });
    try {
      verifier.loadSignature(signature as unknown as Node);
      if (verifier.checkSignature(body)) return;
    } catch (error) {
      throw replyInvalid('the reply signature does not verify', error);
    }
    throw replyInvalid('the reply signature does not verify');
  }

  #post(xml: string): Promise<{ status: number; body: string }> {
    const url = new URL(this.#options.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let sent = false;
      const req = send(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { 'content-type': 'text/xml; charset=utf-8' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (e) => reject(network(url, e, true)));
        },
      );
      req.setTimeout(this.#options.timeoutMs, () => {
        req.destroy(new Error(`no reply in ${this.#options.timeoutMs} ms`));
      });
      req.on('finish', () => {
        sent = true;
      });
      req.on('error', (e) => reject(network(url, e, sent)));
      req.end(xml);
    });
  }
}

/**
 * Throws REPORT_REJECTED for the first record that is not recorded,
 * naming its number and code; returns the result otherwise. For
 * callers that treat any refused record as the job's failure.
 */
export function assertRecorded(result: ReportResult): ReportResult {
  const refused = result.outcomes.find((o) => !o.ok);
  if (!refused) return result;
  throw new TenantGateError(
    'REPORT_REJECTED',
    `Record ${refused.index} was refused with ${refused.code}: ${refused.message}`,
    {
      counterpart: COUNTERPART,
      kind: result.kind,
      code: refused.code,
      recordNumber: refused.index,
      refused: result.outcomes.filter((o) => !o.ok).map((o) => o.index),
    },
  );
}

function recorded(index: number): RecordOutcome {
  return { index, code: null, message: null, ok: true, alreadyRecorded: false };
}

/**
 * The outcome a refused reply settles: the named record's, or a
 * REPORT_REJECTED for a request-level code.
 */
function settle(
  kind: ReportKind,
  reply: ReportReply,
  pending: number[],
  message: ReportMessage,
): RecordOutcome {
  const error = reply.error;
  if (!error) {
    throw replyInvalid('the request was not accepted and no error was given');
  }
  const meaning = isReportCode(error.code) ? REPORT_CODES[error.code] : null;
  const position = error.recordNumber;
  const index = pending[position - 1];
  if (!meaning || meaning.scope !== 'record' || index === undefined) {
    throw new TenantGateError(
      'REPORT_REJECTED',
      `Fiskalizacija 2.0 refused the ${kind} request with ${error.code}: ${error.message}`,
      {
        counterpart: COUNTERPART,
        kind,
        code: error.code,
        meaning: meaning?.meaning ?? null,
        recordNumber: index ?? null,
        requestId: message.requestId,
        replyId: reply.replyId,
      },
    );
  }
  // S008, and S010 for a rejection, say the same thing: what this record
  // reports is on record already (a retry after a lost reply, or the
  // other reporter was first). Nothing is reported twice.
  const already =
    error.code === 'S008' || (kind === 'ODBIJANJE' && error.code === 'S010');
  return {
    index,
    code: error.code,
    message: error.message,
    ok: already,
    alreadyRecorded: already,
  };
}

function unavailable(reason: string, details: Record<string, unknown>) {
  return new TenantGateError(
    'COUNTERPART_UNAVAILABLE',
    `Fiskalizacija 2.0 is unavailable: ${reason}`,
    { counterpart: COUNTERPART, reason, ...details },
  );
}

function network(url: URL, cause: Error, sent: boolean) {
  return new TenantGateError(
    sent ? 'SEND_OUTCOME_UNKNOWN' : 'COUNTERPART_UNAVAILABLE',
    sent
      ? 'The report reached the service but no reply came back'
      : 'The service could not be reached before the report was sent',
    { counterpart: COUNTERPART, host: url.host, reason: cause.message },
    { cause },
  );
}

function replyInvalid(reason: string, cause?: unknown) {
  return new TenantGateError(
    'COUNTERPART_REPLY_INVALID',
    `Fiskalizacija 2.0 reply refused: ${reason}`,
    { counterpart: COUNTERPART, reason },
    cause === undefined ? undefined : { cause },
  );
}

function splitPem(pem: string | Buffer): X509Certificate[] {
  const blocks =
    pem
      .toString()
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ??
    [];
  return blocks.map((b) => new X509Certificate(b));
}
