import { randomUUID } from 'node:crypto';
import type { AccountEnvironment } from '../accounts/kinds.js';
import { tenant, type Database, type Statement } from '../db/database.js';
import type { EnforcementGate, Route } from '../enforcement/gate.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { Logger } from '../logging/logger.js';
import type { CertificateSigner } from '../vault/vault.js';
import { cisResponseOf, type CisAccepted } from './cis-client.js';
import {
  claimOf,
  claimStatement,
  outcomeStatement,
  storedReceipt,
  type FiscalRequestRow,
} from './fiscal-store.js';
import { deliveryDeadline, receiptQrUrl } from './qr.js';
import { prepareReceipt, type Receipt, type ReceiptInput } from './receipt.js';
import { signedRacunZahtjev, type SignedRequest } from './signed-request.js';
import {
  computeZki,
  DEFAULT_HASH_POLICY,
  signatureHashFor,
  type HashPolicy,
} from './zki.js';

/** Sends signed RacunZahtjev messages: the CIS client. */
export interface CisSender {
  fiscalize(signedRequest: string): Promise<CisAccepted>;
}

export interface FiscalServiceDeps {
  db: Database;
  gate: EnforcementGate;
  logger: Logger;
  /** The CIS client for an account environment (TEST or PROD). */
  cis: (environment: AccountEnvironment) => CisSender;
  /** The environment of V1 (legacy certificate) sends. */
  accountEnvironment: AccountEnvironment;
  /** When SHA-256 becomes mandatory. Default: CIS spec v2.7 dates. */
  hashPolicy?: HashPolicy;
  now?: () => Date;
  /** Sends per attempt when CIS is unavailable (s006, 5xx). Default 3. */
  maxSends?: number;
  /** Backoff before the first retry, doubled after each. Default 200 ms. */
  backoffMs?: number;
}

/** One receipt to fiscalize for a company. */
export interface FiscalizeRequest {
  companyId: string;
  receipt: ReceiptInput;
  origin: Origin;
  /** A CIS account named explicitly (else resolved by the gate). */
  accountId?: string;
  actor?: string;
  correlationId?: string;
}

/** A fiscalized receipt. */
export interface FiscalResult {
  requestId: string;
  jir: string;
  zki: string;
  qrUrl: string;
  /** Whether the accepted send carried `NakDost=true`. */
  lateDelivery: boolean;
  /** Sends this attempt made (0 when the receipt already had a JIR). */
  sends: number;
  path: 'V1' | 'V2';
  integrationAccountId: string | null;
}

/** What one attempt did, shared by the send and the record step. */
interface AttemptLog {
  requestId: string | null;
  zki: string | null;
  sends: number;
  lateDelivery: boolean;
  last: SignedRequest | null;
  responseXml: string | null;
  jir: string | null;
  already: boolean;
}

/**
 * Fiscalizes receipts through the enforcement gate: the gate picks the
 * certificate (V2 the account's, V1 the company's legacy one) and hands
 * a signer capability; this service computes the ZKI, signs, sends,
 * retries what may be retried, resends a lost reply as a late delivery
 * with the same ZKI, and keeps one FiscalRequest row per receipt.
 */
export class FiscalService {
  constructor(private readonly deps: FiscalServiceDeps) {}

  /**
   * Fiscalizes one receipt. Bad input throws INVALID_INPUT before
   * anything is sent; an expired certificate INTEGRATION_DISABLED
   * without a CIS round trip. A receipt that already has a JIR is not
   * sent again.
   */
  async fiscalize(request: FiscalizeRequest): Promise<FiscalResult> {
    return this.fiscalizePrepared(request, prepareReceipt(request.receipt));
  }

  /**
   * Fiscalizes a receipt checked earlier (a queued one), reusing the
   * FiscalRequest row `requestId` when given.
   */
  async fiscalizePrepared(
    request: Omit<FiscalizeRequest, 'receipt'>,
    receipt: Receipt,
    requestId?: string,
  ): Promise<FiscalResult> {
    const log: AttemptLog = {
      requestId: null,
      zki: null,
      sends: 0,
      lateDelivery: false,
      last: null,
      responseXml: null,
      jir: null,
      already: false,
    };
    return this.deps.gate.run<FiscalResult>(
      {
        companyId: request.companyId,
        operation: 'FISCALIZATION',
        kind: 'FISCALIZATION_CIS',
        accountId: request.accountId,
        origin: request.origin,
        actor: request.actor,
        correlationId: request.correlationId,
        documentId: receiptNumber(receipt),
      },
      {
        execute: (route) => this.send(route, receipt, log, requestId),
        // With the event: one round trip, one transaction.
        statements: (attempt) =>
          this.record(receipt, log, attempt.ok ? null : attempt.error),
      },
    );
  }

  private async send(
    route: Route,
    receipt: Receipt,
    log: AttemptLog,
    requestId?: string,
  ): Promise<FiscalResult> {
    const signer = this.usableSigner(route);
    const environment =
      route.account?.environment ?? this.deps.accountEnvironment;
    const zki = computeZki(
      signer,
      {
        oib: receipt.oib,
        issuedAt: receipt.issuedAt,
        brOznRac: receipt.number,
        oznPosPr: receipt.premises,
        oznNapUr: receipt.device,
        iznosUkupno: receipt.total,
      },
      this.hashAt(receipt.issuedAt, environment),
    );
    log.zki = zki;
    // Committed before the send: a crash after it leaves the row
    // PROCESSING, resent later as a late delivery with this ZKI.
    const id = requestId ?? `fr_${randomUUID()}`;
    const [rows] = await this.deps.db.batch(tenant(route.companyId), [
      claimStatement({
        id,
        companyId: route.companyId,
        invoiceNumber: receiptNumber(receipt),
        zki,
        issuedAt: receipt.issuedAt,
        receipt: storedReceipt(receipt),
        integrationAccountId: route.account?.id ?? null,
      }),
    ]);
    const claim = claimOf(rows ?? [], id);
    log.requestId = claim.id;
    if (claim.previous?.status === 'SUCCESS' && claim.previous.jir) {
      log.already = true;
      log.jir = claim.previous.jir;
      return this.result(route, receipt, log, claim.previous.jir);
    }
    log.lateDelivery = wasSentBefore(claim.previous);

    const accepted = await this.sendWithRetries(
      signer,
      receipt,
      environment,
      log,
    );
    log.jir = accepted.jir;
    log.responseXml = accepted.responseXml;
    return this.result(route, receipt, log, accepted.jir);
  }

  /**
   * Sends until CIS answers: s006 and unreachable CIS are retried with
   * backoff (a new IdPoruke each time); a lost reply is resent at once
   * as a late delivery (`NakDost=true`) with the same ZKI.
   */
  private async sendWithRetries(
    signer: CertificateSigner,
    receipt: Receipt,
    environment: AccountEnvironment,
    log: AttemptLog,
  ): Promise<CisAccepted> {
    const cis = this.deps.cis(environment);
    const maxSends = this.deps.maxSends ?? 3;
    let backoff = this.deps.backoffMs ?? 200;
    for (;;) {
      const now = this.now();
      const signed = signedRacunZahtjev(receipt, signer, {
        hash: this.hashAt(now, environment),
        sentAt: now,
        zki: log.zki ?? undefined,
        lateDelivery: log.lateDelivery,
      });
      log.last = signed;
      log.sends++;
      try {
        return await cis.fiscalize(signed.xml);
      } catch (error) {
        log.responseXml = cisResponseOf(error) ?? log.responseXml;
        const lost =
          error instanceof TenantGateError &&
          error.code === 'SEND_OUTCOME_UNKNOWN';
        const retryable = error instanceof TenantGateError && error.retryable;
        if (log.sends >= maxSends || !(lost || retryable)) throw error;
        this.deps.logger.warn({
          event: lost ? 'fiscal.reply_lost' : 'fiscal.retry',
          messageId: signed.messageId,
          sends: log.sends,
          code: error instanceof TenantGateError ? error.code : null,
        });
        if (lost) {
          log.lateDelivery = true;
          continue;
        }
        await sleep(backoff);
        backoff *= 2;
      }
    }
  }

  /** The route's signer, refusing an expired certificate up front. */
  private usableSigner(route: Route): CertificateSigner {
    const signer = route.signer;
    if (!signer) {
      throw new TenantGateError(
        'INTERNAL',
        'The gate opened no certificate signer for FISCALIZATION',
        { companyId: route.companyId },
      );
    }
    const notAfter = signer.certificate.notAfter;
    if (notAfter.getTime() <= this.now().getTime()) {
      throw new TenantGateError(
        'INTEGRATION_DISABLED',
        'The fiscal certificate has expired',
        {
          companyId: route.companyId,
          integrationAccountId: route.account?.id ?? null,
          rule: 'certificate-expired',
          certNotAfter: notAfter.toISOString(),
          path: route.decision.path,
        },
      );
    }
    return signer;
  }

  /** The attempt's rows, written with its event. */
  private record(
    receipt: Receipt,
    log: AttemptLog,
    error: TenantGateError | null,
  ): Statement[] {
    const statements: Statement[] = [];
    if (error?.details.rule === 'certificate-expired') {
      const expired = markExpired(error.details.integrationAccountId);
      if (expired) statements.push(expired);
    }
    if (!log.requestId || log.already) return statements;
    const retryLater =
      error !== null &&
      (error.retryable || error.code === 'SEND_OUTCOME_UNKNOWN');
    statements.push(
      outcomeStatement(log.requestId, {
        status: error === null ? 'SUCCESS' : retryLater ? 'FAILED' : 'DEAD',
        jir: log.jir,
        messageId: log.last?.messageId ?? null,
        lateDelivery: log.lateDelivery,
        sends: log.sends,
        requestXml: log.last?.xml ?? null,
        responseXml: log.responseXml,
        deliverBy: retryLater ? deliveryDeadline(receipt.issuedAt) : null,
        lastError:
          error === null
            ? null
            : { name: error.name, code: error.code, details: error.details },
      }),
    );
    return statements;
  }

  private result(
    route: Route,
    receipt: Receipt,
    log: AttemptLog,
    jir: string,
  ): FiscalResult {
    return {
      requestId: log.requestId ?? '',
      jir,
      zki: log.zki ?? '',
      qrUrl: receiptQrUrl(jir, receipt.issuedAt, receipt.total),
      lateDelivery: log.lateDelivery,
      sends: log.sends,
      path: route.decision.path,
      integrationAccountId: route.account?.id ?? null,
    };
  }

  private hashAt(at: Date, environment: AccountEnvironment) {
    return signatureHashFor(
      at,
      environment,
      this.deps.hashPolicy ?? DEFAULT_HASH_POLICY,
    );
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** `BrOznRac/OznPosPr/OznNapUr`, the receipt number as printed. */
export function receiptNumber(receipt: Receipt): string {
  return `${receipt.number}/${receipt.premises}/${receipt.device}`;
}

/** A row left PROCESSING (crash) or FAILED was probably sent already. */
function wasSentBefore(previous: FiscalRequestRow | null): boolean {
  if (!previous) return false;
  return previous.status === 'PROCESSING' || previous.status === 'FAILED';
}

function markExpired(accountId: unknown): Statement | null {
  if (typeof accountId !== 'string') return null;
  return {
    sql: `UPDATE "IntegrationAccount"
        SET status = 'EXPIRED', "statusReason" = 'certificate expired',
            "updatedAt" = now()
      WHERE id = $1 AND status = 'ACTIVE'`,
    params: [accountId],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
