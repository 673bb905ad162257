import type { EInvoiceKind } from '../accounts/kinds.js';
import { tenant, type Database, type Statement } from '../db/database.js';
import type { Attempt, EnforcementGate } from '../enforcement/gate.js';
import {
  TenantGateError,
  toTenantGateError,
} from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { OutgoingDocument } from './intermediary.js';
import type { IntermediaryDirectory, OutboundService } from './outbound.js';
import { findSent } from './send-retry.js';

/** What reconciliation did with one document. */
export type ReconcileOutcome =
  /** Found in the intermediary's listing: now SENT with its id. */
  | 'FOUND'
  /** Not listed after the grace period: sent again, once. */
  | 'RESENT'
  /** Not listed yet, still within the grace period: left as it was. */
  | 'WAITING'
  /** Not listed; resending was not asked for: left as ERROR. */
  | 'NOT_RECEIVED'
  /** The lookup (or the resend) failed: left as it was. */
  | 'FAILED';

export interface ReconcileResult {
  invoiceId: string;
  number: string;
  outcome: ReconcileOutcome;
  providerRef?: string;
  error?: { code: string; message: string };
}

export interface ReconcileOptions {
  /** Send again what the listing proves was not received. Default true. */
  resend?: boolean;
  origin?: Origin;
  actor?: string;
}

interface PendingRow {
  id: string;
  companyId: string;
  status: string;
  number: string;
  sellerOib: string;
  idempotencyKey: string;
  ublXml: string;
  providerKind: EInvoiceKind | null;
  integrationAccountId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const PENDING_COLUMNS = `id, "companyId", status, number, "sellerOib",
  "idempotencyKey", "ublXml", "providerKind", "integrationAccountId",
  "createdAt", "updatedAt"`;

/** Wait this long after an unknown outcome before believing "not listed". */
export const DEFAULT_GRACE_MS = 2 * 60_000;
/** A SENDING row untouched this long lost its sender (crash, DB blip). */
export const DEFAULT_STALE_SENDING_MS = 10 * 60_000;

/**
 * Resolves SEND_UNKNOWN documents (and SENDING ones whose sender died)
 * from the intermediary's own listing of outgoing documents, matched by
 * seller OIB and document number, before anything is resent. The lookup
 * runs through the gate as part of EINVOICE_SEND (same route, same
 * credential, same enforcement as the send it completes), and its
 * result is stored in the same transaction as its operation event.
 */
export class SendReconciler {
  constructor(
    private readonly deps: {
      db: Database;
      gate: EnforcementGate;
      intermediaries: IntermediaryDirectory;
      outbound: OutboundService;
      graceMs?: number;
      staleSendingMs?: number;
      now?: () => Date;
    },
  ) {}

  /** Every pending document of the company, oldest first. */
  async reconcileCompany(
    companyId: string,
    options: ReconcileOptions = {},
  ): Promise<ReconcileResult[]> {
    const rows = await this.pending(companyId);
    const results: ReconcileResult[] = [];
    for (const row of rows) results.push(await this.resolve(row, options));
    return results;
  }

  /** One document; it must be SEND_UNKNOWN or a stale SENDING. */
  async reconcile(
    companyId: string,
    invoiceId: string,
    options: ReconcileOptions = {},
  ): Promise<ReconcileResult> {
    const row = (await this.pending(companyId, invoiceId))[0];
    if (!row) {
      throw new TenantGateError(
        'EINVOICE_NOT_FOUND',
        'No e-invoice awaiting reconciliation with this id',
        { companyId, eInvoiceId: invoiceId },
      );
    }
    return this.resolve(row, options);
  }

  private async pending(
    companyId: string,
    invoiceId?: string,
  ): Promise<PendingRow[]> {
    const staleBefore = new Date(
      this.now().getTime() -
        (this.deps.staleSendingMs ?? DEFAULT_STALE_SENDING_MS),
    );
    return this.deps.db.transaction(tenant(companyId), (tx) =>
      tx.query<PendingRow>(
        `SELECT ${PENDING_COLUMNS} FROM "EInvoice"
          WHERE "companyId" = $1 AND direction = 'OUTBOUND'
            AND (status = 'SEND_UNKNOWN'
              OR (status = 'SENDING' AND "updatedAt" < $2))
            AND ($3::text IS NULL OR id = $3)
          ORDER BY "createdAt", id`,
        [companyId, staleBefore, invoiceId ?? null],
      ),
    );
  }

  private async resolve(
    row: PendingRow,
    options: ReconcileOptions,
  ): Promise<ReconcileResult> {
    const base = { invoiceId: row.id, number: row.number };
    const graceOver =
      this.now().getTime() - row.updatedAt.getTime() >=
      (this.deps.graceMs ?? DEFAULT_GRACE_MS);
    let found: OutgoingDocument | undefined;
    try {
      found = await this.deps.gate.run(
        {
          companyId: row.companyId,
          operation: 'EINVOICE_SEND',
          kind: row.providerKind ?? undefined,
          accountId: row.integrationAccountId ?? undefined,
          origin: options.origin ?? 'worker',
          actor: options.actor,
          documentId: row.id,
        },
        {
          execute: (route) =>
            findSent(
              this.deps.intermediaries.client(route.kind, route.account),
              route.authoriser,
              {
                sellerOib: row.sellerOib,
                documentNumber: row.number,
                since: row.createdAt,
              },
            ),
          statements: (attempt) => lookupStatements(row, attempt, graceOver),
        },
      );
    } catch (error) {
      return { ...base, outcome: 'FAILED', error: brief(error) };
    }
    if (found) {
      return { ...base, outcome: 'FOUND', providerRef: found.providerRef };
    }
    if (!graceOver) return { ...base, outcome: 'WAITING' };
    if (options.resend === false) return { ...base, outcome: 'NOT_RECEIVED' };
    return this.resend(row, options, base);
  }

  private async resend(
    row: PendingRow,
    options: ReconcileOptions,
    base: { invoiceId: string; number: string },
  ): Promise<ReconcileResult> {
    try {
      const sent = await this.deps.outbound.send({
        companyId: row.companyId,
        ublXml: row.ublXml,
        idempotencyKey: row.idempotencyKey,
        accountId: row.integrationAccountId ?? undefined,
        kind: row.providerKind ?? undefined,
        origin: options.origin ?? 'worker',
        actor: options.actor,
      });
      return {
        ...base,
        outcome: 'RESENT',
        providerRef: sent.invoice.providerRef ?? undefined,
      };
    } catch (error) {
      return { ...base, outcome: 'FAILED', error: brief(error) };
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/**
 * Found: SENT with the intermediary's id. Not found after the grace
 * period: ERROR (SEND_NOT_RECEIVED), which the send path may claim
 * again. Only a row still pending is changed.
 */
function lookupStatements(
  row: PendingRow,
  attempt: Attempt<OutgoingDocument | undefined>,
  graceOver: boolean,
): Statement[] {
  if (!attempt.ok) return [];
  const pending = `id = $1 AND status IN ('SEND_UNKNOWN', 'SENDING')`;
  const found = attempt.value;
  if (found) {
    return [
      {
        sql: `UPDATE "EInvoice" SET status = 'SENT', "providerRef" = $2,
           "providerKind" = $3, "integrationAccountId" = $4,
           "sentAt" = COALESCE($5::timestamptz, now()), "lastError" = NULL,
           "updatedAt" = now()
         WHERE ${pending}`,
        params: [
          row.id,
          found.providerRef,
          attempt.route.kind,
          attempt.route.account?.id ?? row.integrationAccountId,
          Number.isNaN(Date.parse(found.submittedAt))
            ? null
            : found.submittedAt,
        ],
      },
    ];
  }
  if (!graceOver) return [];
  const error = new TenantGateError(
    'SEND_NOT_RECEIVED',
    'The intermediary does not list the document: it was not received',
    { eInvoiceId: row.id, number: row.number },
  );
  return [
    {
      sql: `UPDATE "EInvoice" SET status = 'ERROR', "lastError" = $2,
         "updatedAt" = now()
       WHERE ${pending}`,
      params: [row.id, JSON.stringify(error.toJSON())],
    },
  ];
}

function brief(error: unknown): { code: string; message: string } {
  const e = toTenantGateError(error);
  return { code: e.code, message: e.message };
}
