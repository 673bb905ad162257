import { createHash, randomUUID } from 'node:crypto';
import type { EInvoiceKind, Kind } from '../accounts/kinds.js';
import {
  tenant,
  type Database,
  type Queryable,
  type Statement,
} from '../db/database.js';
import type {
  Attempt,
  EnforcementGate,
  RoutedAccount,
} from '../enforcement/gate.js';
import {
  companyNotFound,
  invalidInput,
  TenantGateError,
} from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { IntermediaryClient, SendResult } from './intermediary.js';
import {
  invoiceValidationError,
  type InvoiceValidator,
} from './rules/validate.js';
import {
  DEFAULT_RETRY_POLICY,
  sendWithRetry,
  type RetryPolicy,
} from './send-retry.js';
import { readUblFacts, type UblFacts } from './ubl-facts.js';

/** Finds the client for a kind, configured for the account (if any). */
export interface IntermediaryDirectory {
  client(kind: Kind, account: RoutedAccount | null): IntermediaryClient;
}

export interface SendRequest {
  companyId: string;
  ublXml: string;
  /**
   * Identifies the document across retries. Default:
   * `<companyId>:<document number>:<issue year>`.
   */
  idempotencyKey?: string;
  /** Send through this account instead of the company's default. */
  accountId?: string;
  /** Send through this intermediary kind instead of the default. */
  kind?: EInvoiceKind;
  origin?: Origin;
  actor?: string;
  correlationId?: string;
}

export interface EInvoiceRecord {
  id: string;
  companyId: string;
  status: string;
  number: string;
  idempotencyKey: string;
  providerKind: string | null;
  providerRef: string | null;
  integrationAccountId: string | null;
  lastError: Record<string, unknown> | null;
  sentAt: Date | null;
}

export interface SendOutcome {
  invoice: EInvoiceRecord;
  /** True when the key was seen before and nothing was sent this time. */
  duplicate: boolean;
}

const RECORD_COLUMNS = `id, "companyId", status, number, "idempotencyKey",
  "providerKind", "providerRef", "integrationAccountId", "lastError",
  "sentAt", "documentHash"`;

type StoredRow = EInvoiceRecord & { documentHash: string };

/** Statuses after which a document is issued: never sent again. */
const ISSUED = new Set([
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
  'ARCHIVED',
]);

/**
 * Sends one e-invoice through the enforcement gate. The row is claimed
 * (SENDING) before the network call, so the same document submitted
 * twice is sent once; the intermediary's id is stored in the same
 * transaction as the operation event.
 */
export class OutboundService {
  constructor(
    private readonly deps: {
      db: Database;
      gate: EnforcementGate;
      intermediaries: IntermediaryDirectory;
      /**
       * Schema and business-rule validation before sending. Default:
       * none (the counterpart validates); the application wires the
       * full validator.
       */
      validator?: InvoiceValidator;
      /** Retries within one send. Default DEFAULT_RETRY_POLICY. */
      retry?: RetryPolicy;
    },
  ) {}

  async send(request: SendRequest): Promise<SendOutcome> {
    const facts = readUblFacts(request.ublXml);
    const key = request.idempotencyKey ?? defaultKey(request.companyId, facts);
    const hash = createHash('sha256').update(request.ublXml).digest('hex');

    const claim = await this.claim(request, facts, key, hash);
    if (!claim.claimed) return { invoice: claim.row, duplicate: true };

    const invoiceId = claim.row.id;
    await this.validate(request.companyId, invoiceId, request.ublXml);
    let sent: SendResult | undefined;
    try {
      sent = await this.deps.gate.run(
        {
          companyId: request.companyId,
          operation: 'EINVOICE_SEND',
          kind: request.kind,
          accountId: request.accountId,
          origin: request.origin ?? 'user',
          actor: request.actor,
          correlationId: request.correlationId,
          documentId: invoiceId,
        },
        {
          execute: (route) =>
            sendWithRetry(
              this.deps.intermediaries.client(route.kind, route.account),
              route.authoriser,
              {
                ublXml: request.ublXml,
                sellerOib: facts.sellerOib,
                documentNumber: facts.number,
              },
              this.deps.retry ?? DEFAULT_RETRY_POLICY,
            ),
          statements: (attempt) => [attemptStatement(invoiceId, attempt)],
        },
      );
    } catch (error) {
      if (error instanceof TenantGateError) {
        error.details.eInvoiceId ??= invoiceId;
      }
      throw error;
    }
    const invoice = await this.find(request.companyId, invoiceId);
    return {
      invoice: { ...invoice, providerRef: sent.providerRef },
      duplicate: false,
    };
  }

  /**
   * An invalid document is never sent: the row keeps it as ERROR with
   * every finding in `lastError`, and the caller gets EINVOICE_INVALID.
   */
  private async validate(companyId: string, id: string, ublXml: string) {
    if (!this.deps.validator) return;
    const result = await this.deps.validator.validate(ublXml);
    if (result.valid) return;
    const error = invoiceValidationError(result);
    error.details.eInvoiceId = id;
    await this.deps.db.batch(tenant(companyId), [
      {
        sql: `UPDATE "EInvoice" SET status = 'ERROR', "lastError" = $2,
                "updatedAt" = now() WHERE id = $1`,
        params: [id, JSON.stringify(error.toJSON())],
      },
    ]);
    throw error;
  }

  /** The document stored under an idempotency key, if any. */
  async findByKey(
    companyId: string,
    idempotencyKey: string,
  ): Promise<EInvoiceRecord | undefined> {
    const rows = await this.deps.db.transaction(tenant(companyId), (tx) =>
      tx.query<StoredRow>(
        `SELECT ${RECORD_COLUMNS} FROM "EInvoice"
          WHERE "companyId" = $1 AND "idempotencyKey" = $2`,
        [companyId, idempotencyKey],
      ),
    );
    return rows[0] ? publicRecord(rows[0]) : undefined;
  }

  async find(companyId: string, id: string): Promise<EInvoiceRecord> {
    const rows = await this.deps.db.transaction(tenant(companyId), (tx) =>
      tx.query<StoredRow>(
        `SELECT ${RECORD_COLUMNS} FROM "EInvoice" WHERE id = $1`,
        [id],
      ),
    );
    if (!rows[0]) {
      throw new TenantGateError('EINVOICE_NOT_FOUND', 'No such e-invoice', {
        companyId,
        eInvoiceId: id,
      });
    }
    return publicRecord(rows[0]);
  }

  /**
   * Inserts the row as SENDING, or finds the one already there. A row
   * that failed before reaching the counterpart (ERROR) may be claimed
   * again; SENDING and SEND_UNKNOWN are never resent blindly.
   */
  private async claim(
    request: SendRequest,
    facts: UblFacts,
    key: string,
    hash: string,
  ): Promise<{ claimed: boolean; row: EInvoiceRecord }> {
    return this.deps.db.transaction(tenant(request.companyId), async (tx) => {
      const company = await tx.query<{ oib: string }>(
        'SELECT oib FROM "Company" WHERE id = $1',
        [request.companyId],
      );
      if (!company[0]) {
        throw companyNotFound(request.companyId);
      }
      if (company[0].oib !== facts.sellerOib) {
        throw invalidInput(
          'AccountingSupplierParty/Party/EndpointID',
          'seller-is-company',
          `AccountingSupplierParty/Party/EndpointID: the seller OIB ${facts.sellerOib} is not the company's`,
          { companyId: request.companyId },
        );
      }
      const owner = request.accountId
        ? await namedAccountOwner(tx, request.companyId, request.accountId)
        : undefined;
      const inserted = await insertSending(tx, request, facts, key, hash);
      if (inserted) return { claimed: true, row: publicRecord(inserted) };

      const existing = await tx.query<StoredRow>(
        `SELECT ${RECORD_COLUMNS} FROM "EInvoice"
          WHERE "companyId" = $1 AND "idempotencyKey" = $2 FOR UPDATE`,
        [request.companyId, key],
      );
      const row = existing[0] as StoredRow;
      const claim = await this.reclaim(tx, row, request.ublXml, facts, hash);
      // Nothing goes through the gate for a stored document, so its
      // refusal of another company's account is made here.
      if (!claim.claimed && owner && owner !== request.companyId) {
        throw new TenantGateError(
          'TENANT_VIOLATION',
          'The integration account belongs to another company',
          {
            companyId: request.companyId,
            integrationAccountId: request.accountId,
          },
        );
      }
      return claim;
    });
  }

  private async reclaim(
    tx: Queryable,
    row: StoredRow,
    ublXml: string,
    facts: UblFacts,
    hash: string,
  ) {
    const ids = { companyId: row.companyId, eInvoiceId: row.id };
    // A document that never reached the counterpart may be corrected
    // and sent again under the same key.
    if (row.documentHash !== hash && row.status !== 'ERROR') {
      throw new TenantGateError(
        'EINVOICE_CONFLICT',
        'This idempotency key was used for a different document',
        { ...ids, idempotencyKey: row.idempotencyKey },
      );
    }
    if (ISSUED.has(row.status) || row.status === 'SEND_UNKNOWN') {
      return { claimed: false, row: publicRecord(row) };
    }
    if (row.status !== 'ERROR') {
      throw new TenantGateError(
        'EINVOICE_IN_PROGRESS',
        'This document is being sent by another attempt',
        { ...ids, status: row.status },
      );
    }
    const rows = await tx.query<StoredRow>(
      `UPDATE "EInvoice" SET status = 'SENDING', "ublXml" = $2,
         "documentHash" = $3, "documentType" = $4, number = $5,
         "issueDate" = $6, "buyerOib" = $7, "buyerName" = $8,
         currency = $9, "netAmount" = $10, "vatAmount" = $11,
         "totalAmount" = $12, "updatedAt" = now()
        WHERE id = $1 RETURNING ${RECORD_COLUMNS}`,
      [
        row.id,
        ublXml,
        hash,
        facts.documentType,
        facts.number,
        facts.issueDate,
        facts.buyerOib,
        facts.buyerName,
        facts.currency,
        facts.netAmount,
        facts.vatAmount,
        facts.totalAmount,
      ],
    );
    return { claimed: true, row: publicRecord(rows[0] as StoredRow) };
  }
}

async function insertSending(
  tx: Queryable,
  request: SendRequest,
  facts: UblFacts,
  key: string,
  hash: string,
): Promise<StoredRow | undefined> {
  const rows = await tx.query<StoredRow>(
    `INSERT INTO "EInvoice" (id, "companyId", direction, status,
       "documentType", number, "issueDate", "idempotencyKey",
       "documentHash", "sellerOib", "buyerOib", "buyerName", currency,
       "netAmount", "vatAmount", "totalAmount", "ublXml")
     VALUES ($1, $2, 'OUTBOUND', 'SENDING', $3, $4, $5, $6, $7, $8, $9,
       $10, $11, $12, $13, $14, $15)
     ON CONFLICT ("companyId", "idempotencyKey") DO NOTHING
     RETURNING ${RECORD_COLUMNS}`,
    [
      `ei_${randomUUID()}`,
      request.companyId,
      facts.documentType,
      facts.number,
      facts.issueDate,
      key,
      hash,
      facts.sellerOib,
      facts.buyerOib,
      facts.buyerName,
      facts.currency,
      facts.netAmount,
      facts.vatAmount,
      facts.totalAmount,
      request.ublXml,
    ],
  );
  return rows[0];
}

/** Stores the attempt's result on the row, in the event's transaction. */
function attemptStatement(
  invoiceId: string,
  attempt: Attempt<SendResult>,
): Statement {
  if (attempt.ok) {
    return {
      sql: `UPDATE "EInvoice" SET status = 'SENT', "providerRef" = $2,
         "providerKind" = $3, "integrationAccountId" = $4, "sentAt" = now(),
         "lastError" = NULL, "updatedAt" = now()
       WHERE id = $1`,
      params: [
        invoiceId,
        attempt.value.providerRef,
        attempt.route.kind,
        attempt.route.account?.id ?? null,
      ],
    };
  }
  const unknown = attempt.error.code === 'SEND_OUTCOME_UNKNOWN';
  return {
    sql: `UPDATE "EInvoice" SET status = $2, "lastError" = $3,
       "providerKind" = $4, "integrationAccountId" = $5, "updatedAt" = now()
     WHERE id = $1`,
    params: [
      invoiceId,
      unknown ? 'SEND_UNKNOWN' : 'ERROR',
      JSON.stringify(attempt.error.toJSON()),
      attempt.route?.kind ?? null,
      attempt.route?.account?.id ?? null,
    ],
  };
}

function defaultKey(companyId: string, facts: UblFacts): string {
  return `${companyId}:${facts.number}:${facts.issueDate.slice(0, 4)}`;
}

/**
 * The company owning an account the caller named. An id no company
 * owns is the caller's mistake (ACCOUNT_NOT_FOUND); another company's
 * account is left to the gate, which records the tenant violation.
 */
async function namedAccountOwner(
  tx: Queryable,
  companyId: string,
  accountId: string,
): Promise<string> {
  const rows = await tx.query<{ owner: string | null }>(
    'SELECT tenantgate_account_owner($1) AS owner',
    [accountId],
  );
  const owner = rows[0]?.owner;
  if (!owner) {
    throw new TenantGateError(
      'ACCOUNT_NOT_FOUND',
      `No such integration account: ${accountId}`,
      { companyId, integrationAccountId: accountId },
    );
  }
  return owner;
}

function publicRecord(row: StoredRow): EInvoiceRecord {
  const { documentHash: _hash, ...record } = row;
  return record;
}
