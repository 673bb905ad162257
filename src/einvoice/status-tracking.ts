import type { EInvoiceKind } from '../accounts/kinds.js';
import { tenant, type Database, type Statement } from '../db/database.js';
import type { Attempt, EnforcementGate } from '../enforcement/gate.js';
import { toTenantGateError } from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { Logger } from '../logging/logger.js';
import type { DocumentStatus } from './intermediary.js';
import type { IntermediaryDirectory } from './outbound.js';

/** Where an issued outbound document can be after SENT. */
export type TrackedStatus = 'SENT' | 'DELIVERED' | 'ACCEPTED' | 'REJECTED';

/**
 * Each intermediary's status words, mapped to ours. Words not listed
 * leave the document where it is (and are logged): a word we do not
 * know is never guessed into a final status.
 *
 * - ePoslovanje: the words its status API (and our simulator) answer.
 * - Moj-eRačun: transport status numbers (PROTOCOLS.md): 10 preparing,
 *   20 validating and 30 sent are SENT; 40 delivered; 45 cancelled and
 *   50 failed mean the buyer will not get it: REJECTED.
 * - FINA: RECEIVED, RECEIVING_CONFIRMED, APPROVED, REJECTED, and the
 *   PAYMENT_* words, which come only after approval.
 * - IE-Računi: its import/processing words.
 */
export const STATUS_WORDS: Record<
  EInvoiceKind,
  Record<string, TrackedStatus>
> = {
  EINVOICE_EPOSLOVANJE: {
    SENT: 'SENT',
    DELIVERED: 'DELIVERED',
    RECEIVED: 'DELIVERED',
    ACCEPTED: 'ACCEPTED',
    APPROVED: 'ACCEPTED',
    REJECTED: 'REJECTED',
  },
  EINVOICE_MOJ_ERACUN: {
    '10': 'SENT',
    '20': 'SENT',
    '30': 'SENT',
    '40': 'DELIVERED',
    '45': 'REJECTED',
    '50': 'REJECTED',
    PREPARING: 'SENT',
    VALIDATING: 'SENT',
    SENT: 'SENT',
    DELIVERED: 'DELIVERED',
    CANCELLED: 'REJECTED',
    FAILED: 'REJECTED',
  },
  EINVOICE_FINA: {
    RECEIVED: 'SENT',
    RECEIVING_CONFIRMED: 'DELIVERED',
    APPROVED: 'ACCEPTED',
    REJECTED: 'REJECTED',
    PAYMENT_RECEIVED: 'ACCEPTED',
    PAYMENT_FULFILLED: 'ACCEPTED',
    PAYMENT_PARTIALLY_FULFILLED: 'ACCEPTED',
  },
  EINVOICE_IE_RACUNI: {
    PENDING: 'SENT',
    PROCESSING: 'SENT',
    SENT: 'SENT',
    DELIVERED: 'DELIVERED',
    ACCEPTED: 'ACCEPTED',
    REJECTED: 'REJECTED',
    FAILED: 'REJECTED',
  },
};

const RANK: Record<TrackedStatus, number> = {
  SENT: 1,
  DELIVERED: 2,
  ACCEPTED: 3,
  REJECTED: 3,
};

/** Our status for an intermediary's word, or undefined if unknown. */
export function mapStatus(
  kind: EInvoiceKind,
  word: string,
): TrackedStatus | undefined {
  const words = STATUS_WORDS[kind];
  return words[word] ?? words[word.trim().toUpperCase()];
}

export interface StatusChange {
  invoiceId: string;
  number: string;
  from: string;
  /** Our status after the poll (unchanged when not moving forward). */
  to: string;
  /** The intermediary's word, unmapped; absent when the poll failed. */
  word?: string;
  error?: { code: string; message: string };
}

interface TrackedRow {
  id: string;
  companyId: string;
  status: TrackedStatus;
  number: string;
  providerKind: EInvoiceKind;
  providerRef: string;
  integrationAccountId: string | null;
}

/**
 * Moves issued outbound documents SENT → DELIVERED → ACCEPTED/REJECTED
 * from each intermediary's status API. Each poll goes through the gate
 * as part of the document's EINVOICE_SEND lifecycle: pinned to the
 * account (and kind) that sent it, with its enforcement, and one
 * operation event per poll with `documentId` set; the status change is
 * written in that event's transaction. Statuses only move forward.
 */
export class StatusTracker {
  constructor(
    private readonly deps: {
      db: Database;
      gate: EnforcementGate;
      intermediaries: IntermediaryDirectory;
      logger?: Logger;
    },
  ) {}

  /** Polls every SENT or DELIVERED document of the company. */
  async refreshCompany(
    companyId: string,
    options: { origin?: Origin; actor?: string; limit?: number } = {},
  ): Promise<StatusChange[]> {
    const rows = await this.tracked(companyId, undefined, options.limit);
    const changes: StatusChange[] = [];
    for (const row of rows) changes.push(await this.poll(row, options));
    return changes;
  }

  /** Polls one document (it must be SENT or DELIVERED with an id). */
  async refresh(
    companyId: string,
    invoiceId: string,
    options: { origin?: Origin; actor?: string } = {},
  ): Promise<StatusChange | undefined> {
    const row = (await this.tracked(companyId, invoiceId))[0];
    return row ? this.poll(row, options) : undefined;
  }

  private tracked(
    companyId: string,
    invoiceId?: string,
    limit = 500,
  ): Promise<TrackedRow[]> {
    return this.deps.db.transaction(tenant(companyId), (tx) =>
      tx.query<TrackedRow>(
        `SELECT id, "companyId", status, number, "providerKind",
                "providerRef", "integrationAccountId"
           FROM "EInvoice"
          WHERE "companyId" = $1 AND direction = 'OUTBOUND'
            AND status IN ('SENT', 'DELIVERED')
            AND "providerRef" IS NOT NULL AND "providerKind" IS NOT NULL
            AND ($2::text IS NULL OR id = $2)
          ORDER BY "sentAt" NULLS FIRST, id
          LIMIT $3`,
        [companyId, invoiceId ?? null, limit],
      ),
    );
  }

  private async poll(
    row: TrackedRow,
    options: { origin?: Origin; actor?: string },
  ): Promise<StatusChange> {
    const base = { invoiceId: row.id, number: row.number, from: row.status };
    try {
      const reported = await this.deps.gate.run(
        {
          companyId: row.companyId,
          operation: 'EINVOICE_SEND',
          kind: row.providerKind,
          accountId: row.integrationAccountId ?? undefined,
          origin: options.origin ?? 'worker',
          actor: options.actor,
          documentId: row.id,
        },
        {
          execute: (route) =>
            this.deps.intermediaries
              .client(route.kind, route.account)
              .status(row.providerRef, route.authoriser),
          statements: (attempt) => this.statements(row, attempt),
        },
      );
      const next = this.next(row, reported.status);
      return { ...base, to: next ?? row.status, word: reported.status };
    } catch (error) {
      const e = toTenantGateError(error);
      return {
        ...base,
        to: row.status,
        error: { code: e.code, message: e.message },
      };
    }
  }

  /** The forward move the word allows, if any. */
  private next(row: TrackedRow, word: string): TrackedStatus | undefined {
    const mapped = mapStatus(row.providerKind, word);
    if (mapped === undefined) {
      this.deps.logger?.warn({
        event: 'einvoice.status_word_unknown',
        eInvoiceId: row.id,
        providerKind: row.providerKind,
        word,
      });
      return undefined;
    }
    return RANK[mapped] > RANK[row.status] ? mapped : undefined;
  }

  private statements(
    row: TrackedRow,
    attempt: Attempt<DocumentStatus>,
  ): Statement[] {
    if (!attempt.ok) return [];
    const mapped = mapStatus(row.providerKind, attempt.value.status);
    const next =
      mapped !== undefined && RANK[mapped] > RANK[row.status]
        ? mapped
        : undefined;
    if (next === undefined) return [];
    return [
      {
        // Only from the status read: a concurrent poll moves it once.
        sql: `UPDATE "EInvoice" SET status = $3, "updatedAt" = now()
               WHERE id = $1 AND status = $2`,
        params: [row.id, row.status, next],
      },
    ];
  }
}
