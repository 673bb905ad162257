import { LEGACY_PROVIDER_KINDS, type Kind } from '../accounts/kinds.js';
import { incomingDeadline, outgoingDeadline } from './deadlines.js';

/** What a report is about: the e-invoice, a payment, a rejection. */
export type ReportKind = 'EINVOICE' | 'PAYMENT' | 'REJECTION';

/** `I`: the company issued the e-invoice; `U`: it received it. */
export type ReportDirection = 'I' | 'U';

/** Who reports an account's e-invoices to the Tax Administration. */
export type TaxReporting = 'INTERMEDIARY' | 'PLATFORM';

/**
 * The state of one report. INTERMEDIARY: the intermediary reports it,
 * the platform sends nothing. PROCESSING: claimed by a sender; left so
 * by a crash it is sent again once its lease ends (an answer of S008
 * then marks it REPORTED). FAILED is retried; DEAD is not.
 */
export type ReportStatus =
  'PENDING' | 'PROCESSING' | 'REPORTED' | 'FAILED' | 'DEAD' | 'INTERMEDIARY';

/**
 * E-invoice statuses that mean the document exists for the Tax
 * Administration: outgoing ones handed to the intermediary (and later
 * states), incoming ones as stored. Drafts, refusals (ERROR) and sends
 * of unknown outcome (SEND_UNKNOWN, until reconciled) are not reported.
 */
export const REPORTABLE_STATUSES = [
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
  'ARCHIVED',
] as const;

/**
 * Who reports for an e-invoice account: `providerConfig.taxReporting`
 * when set; for FINA the older `reportsToTaxAuthority` flag; otherwise
 * the kind's default: FINA reports on its senders' behalf
 * (INTERMEDIARY), every other intermediary leaves it to the platform
 * (PLATFORM). PLATFORM is the safe default elsewhere: a report the
 * intermediary also made is answered S008 (already recorded), while a
 * report nobody made is a missed legal obligation.
 */
export function taxReportingOf(
  kind: Kind | null,
  providerConfig: Record<string, unknown> = {},
): TaxReporting {
  const explicit = providerConfig.taxReporting;
  if (explicit === 'INTERMEDIARY' || explicit === 'PLATFORM') return explicit;
  if (kind === 'EINVOICE_FINA') {
    return providerConfig.reportsToTaxAuthority === false
      ? 'PLATFORM'
      : 'INTERMEDIARY';
  }
  return 'PLATFORM';
}

/** What the store knows of an e-invoice when listing obligations. */
export interface EInvoiceFacts {
  id: string;
  /** BT-1, the invoice number. */
  number: string;
  companyId: string;
  direction: 'OUTBOUND' | 'INBOUND';
  status: string;
  /** `YYYY-MM-DD`. */
  issueDate: string;
  /** When it was stored: for an incoming one, its receipt. */
  createdAt: Date;
  providerKind: string | null;
  integrationAccountId: string | null;
  /** The e-invoice's own account, else the company's default one. */
  account: {
    id: string;
    kind: Kind;
    providerConfig: Record<string, unknown>;
  } | null;
  /** The company's default intermediary kind (`Company.eInvoiceKind`). */
  companyKind: Kind | null;
  /** The legacy provider name (`Company.eInvoiceProvider`) on V1. */
  legacyProvider: string | null;
}

/** The report an e-invoice creates, before it is stored. */
export interface Obligation {
  einvoiceId: string;
  companyId: string;
  direction: ReportDirection;
  kind: ReportKind;
  deadline: string;
  reportedBy: TaxReporting;
  integrationAccountId: string | null;
  idempotencyKey: string;
}

/**
 * The EvidentirajERacun obligation of one e-invoice, or null when it
 * is not (yet) reportable. `reportedBy` says whether the platform must
 * send it or its intermediary does.
 */
export function eInvoiceObligation(facts: EInvoiceFacts): Obligation | null {
  const reportable = (REPORTABLE_STATUSES as readonly string[]).includes(
    facts.status,
  );
  if (facts.direction === 'OUTBOUND' && !reportable) return null;
  const direction: ReportDirection = facts.direction === 'OUTBOUND' ? 'I' : 'U';
  return {
    einvoiceId: facts.id,
    companyId: facts.companyId,
    direction,
    kind: 'EINVOICE',
    deadline:
      direction === 'I'
        ? outgoingDeadline(facts.issueDate)
        : incomingDeadline(facts.createdAt),
    reportedBy: taxReportingOf(
      intermediaryKind(facts),
      facts.account?.providerConfig,
    ),
    integrationAccountId: facts.account?.id ?? null,
    idempotencyKey: `EINVOICE:${facts.id}`,
  };
}

/** The intermediary an e-invoice went through (or came from). */
export function intermediaryKind(facts: EInvoiceFacts): Kind | null {
  if (facts.account) return facts.account.kind;
  if (facts.providerKind && facts.providerKind in KIND_NAMES) {
    return facts.providerKind as Kind;
  }
  return (
    facts.companyKind ??
    LEGACY_PROVIDER_KINDS[facts.legacyProvider ?? ''] ??
    null
  );
}

const KIND_NAMES: Record<string, true> = {
  EINVOICE_EPOSLOVANJE: true,
  EINVOICE_FINA: true,
  EINVOICE_IE_RACUNI: true,
  EINVOICE_MOJ_ERACUN: true,
};
