import { randomUUID } from 'node:crypto';
import type { AccountEnvironment } from '../accounts/kinds.js';
import { isCalendarDate, zagrebDate } from '../calendar/croatian-calendar.js';
import {
  operator,
  tenant,
  type Database,
  type Queryable,
} from '../db/database.js';
import type { EnforcementGate, Route } from '../enforcement/gate.js';
import {
  invalidInput,
  toTenantGateError,
  TenantGateError,
} from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { Logger } from '../logging/logger.js';
import type { CertificateSigner } from '../vault/vault.js';
import { daysLeft, isOverdue, monthlyDeadline } from './deadlines.js';
import {
  buildEvidentirajERacun,
  buildEvidentirajNaplatu,
  buildEvidentirajOdbijanje,
  invoiceReportFromUbl,
  MAX_RECORDS,
  type InvoiceReport,
  type PaymentMethod,
  type PaymentReport,
  type RejectionReasonType,
  type RejectionReport,
  type ReportMessage,
} from './messages/index.js';
import {
  eInvoiceObligation,
  REPORTABLE_STATUSES,
  taxReportingOf,
  intermediaryKind,
  type ReportDirection,
  type ReportKind,
  type ReportStatus,
  type TaxReporting,
} from './obligations.js';
import {
  assertRecorded,
  type ReportingClient,
  type ReportResult,
} from './client.js';
import {
  claimDue,
  countByStatus,
  eInvoiceFacts,
  eInvoicesWithoutReport,
  findReportByKey,
  insertReports,
  listReports,
  paymentBalance,
  recordOutcomes,
  type ClaimedReport,
  type ReportOutcome,
  type ReportRow,
} from './report-store.js';

/**
 * The Fiskalizacija 2.0 client as the service uses it (ReportingClient
 * in ./client.ts): builds, signs with the signer capability, sends,
 * resends the rest of a request after a record is refused, and returns
 * each record's outcome. Request-level refusals throw REPORT_REJECTED;
 * an unreachable service COUNTERPART_UNAVAILABLE; a lost reply
 * SEND_OUTCOME_UNKNOWN.
 */
export type ReportSender = Pick<
  ReportingClient,
  'evidentirajERacun' | 'evidentirajNaplatu' | 'evidentirajOdbijanje'
>;

export interface ReportingServiceDeps {
  db: Database;
  gate: EnforcementGate;
  logger: Logger;
  /** The Fiskalizacija 2.0 client for an account environment. */
  sender: (environment: AccountEnvironment) => ReportSender;
  /** The environment of V1 (legacy certificate) reports and of lookups. */
  accountEnvironment: AccountEnvironment;
  now?: () => Date;
  /** Records per request. Default 100, the service's maximum. */
  batchSize?: number;
  /**
   * Seconds a claimed report stays with its sender. A report still
   * PROCESSING after that (its sender crashed) is claimed and sent
   * again; S008 then marks it REPORTED. Default 120.
   */
  leaseSeconds?: number;
}

/** Who asks, for the operation events. */
export interface RunOptions {
  origin: Origin;
  actor?: string;
  correlationId?: string;
}

/** One line of the due-list. */
export interface DueItem {
  reportId: string;
  einvoiceId: string;
  number: string;
  kind: ReportKind;
  direction: ReportDirection;
  status: ReportStatus;
  deadline: string;
  daysLeft: number;
  overdue: boolean;
  attempts: number;
  lastError: string | null;
}

/** A company's reports still owed, with counts by state. */
export interface CompanyDueList {
  companyId: string;
  /** Owed: PENDING, PROCESSING, FAILED and DEAD. */
  due: number;
  overdue: number;
  dueToday: number;
  reported: number;
  /** Left to the intermediary: nothing is sent for these. */
  intermediary: number;
  failed: number;
  dead: number;
  items: DueItem[];
}

/** The due-list: per company, earliest deadline first. */
export interface DueList {
  today: string;
  companies: CompanyDueList[];
  totals: { due: number; overdue: number; dueToday: number };
}

/** A report that a run could not make, and why. */
export interface ReportFailure {
  reportId: string;
  einvoiceId: string;
  number: string;
  kind: ReportKind;
  /** The code: S001–S012 from the service, else a TenantGate code. */
  code: string;
  /** `redniBrojZapisa`: the record's 1-based place in its request. */
  recordNumber: number | null;
  message: string;
  status: ReportStatus;
}

/** What `reportDue` did for one company. */
export interface RunSummary {
  companyId: string;
  /** New obligations found before sending. */
  added: number;
  /** Requests sent (each one operation event). */
  requests: number;
  reported: number;
  /** Of `reported`: answered S008, recorded by an earlier send. */
  alreadyRecorded: number;
  failures: ReportFailure[];
}

/** A payment to register for an outgoing e-invoice. */
export interface PaymentInput {
  companyId: string;
  einvoiceId: string;
  /** `YYYY-MM-DD`, not in the future. */
  paidOn: string;
  /** Decimal text, e.g. `"125.00"`, more than zero. */
  amount: string;
  /** T transaction account, O settlement, Z other. */
  method: PaymentMethod;
  /**
   * Distinguishes two payments of the same amount on the same day.
   * Default: one payment per e-invoice, day, amount and method.
   */
  idempotencyKey?: string;
}

/** The rejection of an incoming e-invoice. */
export interface RejectionInput {
  companyId: string;
  einvoiceId: string;
  /** `YYYY-MM-DD`, not in the future. */
  rejectedOn: string;
  /** N data not affecting tax, U affecting tax, O other. */
  reasonType: RejectionReasonType;
  reason: string;
}

/** A registered payment or rejection. */
export interface RegisteredReport {
  reportId: string;
  status: ReportStatus;
  deadline: string;
  reportedBy: TaxReporting;
  /** True when the same one was registered before: nothing new stored. */
  duplicate: boolean;
}

/** The groups a run sends, in this order: e-invoices before the rest. */
const GROUPS: readonly (readonly [ReportKind, ReportDirection])[] = [
  ['EINVOICE', 'I'],
  ['EINVOICE', 'U'],
  ['PAYMENT', 'I'],
  ['REJECTION', 'U'],
];

/** Gate refusals: nothing reached the Tax Administration. */
const REFUSALS = new Set<string>([
  'TENANT_VIOLATION',
  'INTEGRATION_REQUIRED',
  'INTEGRATION_DISABLED',
  'INTEGRATION_NOT_FOUND',
  'COMPANY_NOT_FOUND',
]);

const SYNC_PAGE = 500;

type RecordData = InvoiceReport | PaymentReport | RejectionReport;

/**
 * Fiskalizacija 2.0 reporting for the platform's companies: finds what
 * each company owes (EvidentirajERacun for its e-invoices, Naplata and
 * Odbijanje it registers), lists it with deadlines, and reports it
 * through the enforcement gate (operation EINVOICE_REPORT, signed with
 * the company's CIS certificate) in requests of up to 100 records.
 * Reports the intermediary makes (the account's `taxReporting`) are
 * stored as INTERMEDIARY and never sent.
 */
export class ReportingService {
  constructor(private readonly deps: ReportingServiceDeps) {}

  /**
   * Stores the EINVOICE obligation of every reportable e-invoice of the
   * company that has none yet. Returns how many were added.
   */
  async syncObligations(companyId: string): Promise<number> {
    let added = 0;
    for (;;) {
      const inserted = await this.inTenant(companyId, async (tx) => {
        const page = await eInvoicesWithoutReport(
          tx,
          companyId,
          this.deps.accountEnvironment,
          SYNC_PAGE,
        );
        const obligations = page.flatMap((facts) => {
          const obligation = eInvoiceObligation(facts);
          return obligation ? [{ ...obligation, id: reportId() }] : [];
        });
        return {
          seen: page.length,
          stored: await insertReports(tx, obligations),
        };
      });
      added += inserted.stored;
      if (inserted.seen < SYNC_PAGE || inserted.stored === 0) break;
    }
    if (added > 0) {
      this.deps.logger.info({
        event: 'reporting.obligations_added',
        companyId,
        added,
      });
    }
    return added;
  }

  /**
   * The due-list of one company, or of every company with reports
   * (operator). Obligations are brought up to date first.
   */
  async dueList(options: { companyId?: string } = {}): Promise<DueList> {
    const today = zagrebDate(this.now());
    const companyIds = options.companyId
      ? [options.companyId]
      : await this.companiesWithEInvoices();
    const companies: CompanyDueList[] = [];
    for (const companyId of companyIds) {
      await this.syncObligations(companyId);
      companies.push(await this.companyDueList(companyId, today));
    }
    return {
      today,
      companies,
      totals: {
        due: sum(companies, (c) => c.due),
        overdue: sum(companies, (c) => c.overdue),
        dueToday: sum(companies, (c) => c.dueToday),
      },
    };
  }

  /**
   * Registers a payment of an outgoing e-invoice (the issuer reports
   * it), due by the 20th of the next month. The same payment twice is
   * stored once.
   */
  async registerPayment(input: PaymentInput): Promise<RegisteredReport> {
    assertPastDate(input.paidOn, 'paidOn', this.today());
    const method = oneOf(input.method, ['T', 'O', 'Z'], 'method');
    const amount = positiveAmount(input.amount, 'amount');
    const key =
      input.idempotencyKey === undefined
        ? `PAYMENT:${input.einvoiceId}:${input.paidOn}:${amount}:${method}`
        : `PAYMENT:${input.einvoiceId}:key:${input.idempotencyKey}`;
    return this.register(input.companyId, input.einvoiceId, {
      kind: 'PAYMENT',
      direction: 'I',
      deadline: monthlyDeadline(input.paidOn),
      payload: { paidOn: input.paidOn, amount, method },
      idempotencyKey: key,
    });
  }

  /**
   * Registers the rejection of an incoming e-invoice (the recipient
   * reports it), due by the 20th of the next month; one per e-invoice.
   */
  async registerRejection(input: RejectionInput): Promise<RegisteredReport> {
    assertPastDate(input.rejectedOn, 'rejectedOn', this.today());
    const reasonType = oneOf(input.reasonType, ['N', 'U', 'O'], 'reasonType');
    const reason = (input.reason ?? '').trim();
    if (reason.length === 0 || reason.length > 1024) {
      throw invalidInput(
        'reason',
        'length',
        'reason: 1 to 1024 characters are required',
      );
    }
    return this.register(input.companyId, input.einvoiceId, {
      kind: 'REJECTION',
      direction: 'U',
      deadline: monthlyDeadline(input.rejectedOn),
      payload: { rejectedOn: input.rejectedOn, reasonType, reason },
      idempotencyKey: `REJECTION:${input.einvoiceId}`,
    });
  }

  /**
   * Reports what the company owes now, e-invoices first, in requests of
   * up to 100 records, each through the gate (one operation event per
   * request). A request refused for one record (the reply names its
   * number) marks that record and sends the others again without it;
   * an S008 answer marks its record REPORTED (recorded by an earlier
   * send that lost its reply or whose sender crashed).
   */
  async reportDue(companyId: string, options: RunOptions): Promise<RunSummary> {
    const summary: RunSummary = {
      companyId,
      added: await this.syncObligations(companyId),
      requests: 0,
      reported: 0,
      alreadyRecorded: 0,
      failures: [],
    };
    for (const [kind, direction] of GROUPS) {
      await this.reportGroup(companyId, kind, direction, options, summary);
    }
    this.deps.logger.info({
      event: 'reporting.run_done',
      companyId,
      requests: summary.requests,
      reported: summary.reported,
      alreadyRecorded: summary.alreadyRecorded,
      failed: summary.failures.length,
    });
    return summary;
  }

  /** `reportDue` for every company with e-invoices, one after another. */
  async reportAllDue(options: RunOptions): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    for (const companyId of await this.companiesWithEInvoices()) {
      out.push(await this.reportDue(companyId, options));
    }
    return out;
  }

  private async reportGroup(
    companyId: string,
    kind: ReportKind,
    direction: ReportDirection,
    options: RunOptions,
    summary: RunSummary,
  ): Promise<void> {
    // Reports finished in this run (sent, refused, failed): never claimed
    // twice by it. Reports released unsent are claimed again.
    const done = new Set<string>();
    for (;;) {
      const rows = await this.inTenant(companyId, (tx) =>
        claimDue(tx, {
          companyId,
          kind,
          direction,
          limit: Math.min(this.deps.batchSize ?? MAX_RECORDS, MAX_RECORDS),
          leaseSeconds: this.deps.leaseSeconds ?? 120,
          exceptIds: [...done],
        }),
      );
      if (rows.length === 0) return;
      const { ready, refused } = prepareRecords(rows);
      for (const [row, error] of refused) {
        done.add(row.id);
        summary.requests++;
        await this.sendBatch(companyId, kind, [], options, summary, {
          row,
          error,
        });
      }
      if (ready.length === 0) continue;
      summary.requests++;
      const finished = await this.sendBatch(
        companyId,
        kind,
        ready,
        options,
        summary,
      );
      for (const id of finished) done.add(id);
    }
  }

  /**
   * One report attempt through the gate (one operation event): the
   * client may send more than one request for it when a record is
   * refused (the others are sent again without it). `refused` is a
   * record that could not be built: its attempt fails inside the gate
   * and nothing is sent. Returns the ids of the reports this attempt
   * finished, not those released unsent.
   */
  private async sendBatch(
    companyId: string,
    kind: ReportKind,
    batch: readonly Prepared[],
    options: RunOptions,
    summary: RunSummary,
    refused?: { row: ClaimedReport; error: TenantGateError },
  ): Promise<string[]> {
    const rows = refused ? [refused.row] : batch.map((p) => p.row);
    const exchange: Exchange = { result: null };
    let outcomes: ReportOutcome[] = [];
    let recorded = false;
    try {
      await this.deps.gate.run(
        {
          companyId,
          operation: 'EINVOICE_REPORT',
          kind: 'FISCALIZATION_CIS',
          origin: options.origin,
          actor: options.actor,
          correlationId: options.correlationId,
          documentId: documentIdOf(rows),
        },
        {
          execute: async (route) => {
            if (refused) throw refused.error;
            return this.exchange(route, kind, batch, exchange);
          },
          record: async (tx, attempt) => {
            outcomes = outcomesOf(
              rows,
              exchange.result,
              attempt.ok ? null : attempt.error,
            );
            await recordOutcomes(tx, outcomes);
            recorded = true;
          },
        },
      );
    } catch (error) {
      // Recorded with its operation event; the run carries on.
      if (!recorded) throw error;
    }
    this.tally(rows, outcomes, summary);
    return outcomes.filter((o) => o.attempted).map((o) => o.id);
  }

  /**
   * Sends the batch with the route's certificate. A refused record
   * fails the attempt (REPORT_REJECTED naming it) after the others are
   * recorded, so the operation event says something needs attention.
   */
  private async exchange(
    route: Route,
    kind: ReportKind,
    batch: readonly Prepared[],
    exchange: Exchange,
  ): Promise<ReportResult> {
    const signer = this.usableSigner(route);
    const environment =
      route.account?.environment ?? this.deps.accountEnvironment;
    const client = this.deps.sender(environment);
    const now = () => this.now();
    const records = batch.map((p) => p.record);
    const result =
      kind === 'EINVOICE'
        ? await client.evidentirajERacun(records as InvoiceReport[], signer, {
            direction: batch[0]?.row.direction ?? 'I',
            now,
          })
        : kind === 'PAYMENT'
          ? await client.evidentirajNaplatu(
              records as PaymentReport[],
              signer,
              {
                now,
              },
            )
          : await client.evidentirajOdbijanje(
              records as RejectionReport[],
              signer,
              { now },
            );
    exchange.result = result;
    return assertRecorded(result);
  }

  /** The route's signer, refusing an expired certificate up front. */
  private usableSigner(route: Route): CertificateSigner {
    const signer = route.signer;
    if (!signer) {
      throw new TenantGateError(
        'INTERNAL',
        'The gate opened no certificate signer for EINVOICE_REPORT',
        { companyId: route.companyId },
      );
    }
    if (signer.certificate.notAfter.getTime() <= this.now().getTime()) {
      throw new TenantGateError(
        'INTEGRATION_DISABLED',
        'The CIS certificate has expired',
        {
          companyId: route.companyId,
          integrationAccountId: route.account?.id ?? null,
          rule: 'certificate-expired',
          certNotAfter: signer.certificate.notAfter.toISOString(),
        },
      );
    }
    return signer;
  }

  private tally(
    rows: readonly ClaimedReport[],
    outcomes: readonly ReportOutcome[],
    summary: RunSummary,
  ): void {
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const outcome of outcomes) {
      const row = byId.get(outcome.id);
      if (!row || !outcome.attempted) continue;
      if (outcome.status === 'REPORTED') {
        summary.reported++;
        if (outcome.alreadyRecorded) summary.alreadyRecorded++;
        continue;
      }
      const error = outcome.lastError ?? {};
      summary.failures.push({
        reportId: row.id,
        einvoiceId: row.einvoiceId,
        number: row.number,
        kind: row.kind,
        code: String(error.reportCode ?? error.code ?? 'INTERNAL'),
        recordNumber:
          typeof error.recordNumber === 'number' ? error.recordNumber : null,
        message: String(error.message ?? ''),
        status: outcome.status,
      });
    }
  }

  private async register(
    companyId: string,
    einvoiceId: string,
    report: {
      kind: 'PAYMENT' | 'REJECTION';
      direction: ReportDirection;
      deadline: string;
      payload: Record<string, unknown>;
      idempotencyKey: string;
    },
  ): Promise<RegisteredReport> {
    await this.syncObligations(companyId);
    const result = await this.inTenant(companyId, async (tx) => {
      const facts = await eInvoiceFacts(
        tx,
        companyId,
        this.deps.accountEnvironment,
        einvoiceId,
      );
      if (!facts) throw eInvoiceNotFound(companyId, einvoiceId);
      assertRegistrable(facts, report.kind);
      if (report.kind === 'PAYMENT') {
        await assertWithinPayable(tx, einvoiceId, report);
      }
      const reportedBy = taxReportingOf(
        intermediaryKind(facts),
        facts.account?.providerConfig,
      );
      const id = reportId();
      const stored = await insertReports(tx, [
        {
          id,
          companyId,
          einvoiceId,
          direction: report.direction,
          kind: report.kind,
          deadline: report.deadline,
          reportedBy,
          integrationAccountId: facts.account?.id ?? null,
          idempotencyKey: report.idempotencyKey,
          payload: report.payload,
        },
      ]);
      const row = await findReportByKey(tx, report.idempotencyKey);
      return { row, duplicate: stored === 0, reportedBy };
    });
    const row = result.row as ReportRow;
    this.deps.logger.info({
      event: 'reporting.registered',
      companyId,
      einvoiceId,
      reportId: row.id,
      kind: report.kind,
      duplicate: result.duplicate,
      reportedBy: result.reportedBy,
    });
    return {
      reportId: row.id,
      status: row.status,
      deadline: row.deadline,
      reportedBy: result.reportedBy,
      duplicate: result.duplicate,
    };
  }

  private async companyDueList(
    companyId: string,
    today: string,
  ): Promise<CompanyDueList> {
    const { rows, counts } = await this.inTenant(companyId, async (tx) => ({
      rows: await listReports(tx, { openOnly: true, companyId }),
      counts: await countByStatus(tx, companyId),
    }));
    const items = rows.map((row) => dueItem(row, today));
    return {
      companyId,
      due: items.length,
      overdue: items.filter((i) => i.overdue).length,
      dueToday: items.filter((i) => i.daysLeft === 0).length,
      reported: counts.REPORTED,
      intermediary: counts.INTERMEDIARY,
      failed: counts.FAILED,
      dead: counts.DEAD,
      items,
    };
  }

  private async companiesWithEInvoices(): Promise<string[]> {
    const rows = await this.deps.db.transaction(operator, (tx) =>
      tx.query<{ companyId: string }>(
        `SELECT DISTINCT "companyId" FROM "EInvoice"
          WHERE direction = 'INBOUND' OR status = ANY($1::text[])
          ORDER BY "companyId"`,
        [[...REPORTABLE_STATUSES]],
      ),
    );
    return rows.map((row) => row.companyId);
  }

  private inTenant<T>(
    companyId: string,
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    return this.deps.db.transaction(tenant(companyId), fn);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private today(): string {
    return zagrebDate(this.now());
  }
}

/** What the client returned, for the record step. */
interface Exchange {
  result: ReportResult | null;
}

/** A claimed report and its record, checked on its own. */
interface Prepared {
  row: ClaimedReport;
  record: RecordData;
}

/**
 * Builds each claimed report's record and checks it alone, so that one
 * record the builder refuses does not hold up the others.
 */
function prepareRecords(rows: readonly ClaimedReport[]): {
  ready: Prepared[];
  refused: [ClaimedReport, TenantGateError][];
} {
  const ready: Prepared[] = [];
  const refused: [ClaimedReport, TenantGateError][] = [];
  for (const row of rows) {
    try {
      const record = recordOf(row);
      buildMessage(row.kind, [{ row, record }], {});
      ready.push({ row, record });
    } catch (error) {
      refused.push([row, toTenantGateError(error)]);
    }
  }
  return { ready, refused };
}

function recordOf(row: ClaimedReport): RecordData {
  if (row.kind === 'EINVOICE') return invoiceReportFromUbl(row.ublXml);
  const head = {
    number: row.number,
    issueDate: row.issueDate,
    issuerOib: row.sellerOib,
    recipientOib: row.buyerOib ?? '',
  };
  const p = row.payload;
  if (row.kind === 'PAYMENT') {
    return {
      ...head,
      paidOn: String(p.paidOn),
      amount: String(p.amount),
      method: String(p.method) as PaymentMethod,
    };
  }
  return {
    ...head,
    rejectedOn: String(p.rejectedOn),
    reasonType: String(p.reasonType) as RejectionReasonType,
    reason: String(p.reason),
  };
}

function buildMessage(
  kind: ReportKind,
  batch: readonly Prepared[],
  options: { requestId?: string; sentAt?: Date },
): ReportMessage {
  if (kind === 'EINVOICE') {
    const direction = batch[0]?.row.direction ?? 'I';
    return buildEvidentirajERacun(
      batch.map((p) => p.record as InvoiceReport),
      { ...options, direction },
    );
  }
  if (kind === 'PAYMENT') {
    return buildEvidentirajNaplatu(
      batch.map((p) => p.record as PaymentReport),
      options,
    );
  }
  return buildEvidentirajOdbijanje(
    batch.map((p) => p.record as RejectionReport),
    options,
  );
}

/**
 * Each report's outcome from the attempt:
 * - a client result: recorded records REPORTED (S008: already
 *   recorded), refused ones DEAD with their S-code and record number;
 * - REPORT_REJECTED naming a record (S005 for one record's data): that
 *   record DEAD, the others released unsent to go in the next request;
 * - REPORT_REJECTED for the whole request (signature, certificate, the
 *   signer not authorised for the OIB) and other refusals: all DEAD;
 * - an unavailable service or a lost reply: all FAILED, retried (a
 *   report that did arrive is answered S008 next time);
 * - a gate refusal (no certificate, account disabled): all PENDING
 *   with the error, still owed, nothing sent.
 */
function outcomesOf(
  rows: readonly ClaimedReport[],
  result: ReportResult | null,
  error: TenantGateError | null,
): ReportOutcome[] {
  const last = result?.exchanges.at(-1) ?? null;
  const base = {
    alreadyRecorded: false,
    messageId: last?.requestId ?? null,
    requestXml: last?.requestXml ?? null,
    responseXml: last?.responseXml ?? null,
    lastError: null,
  };
  if (result) {
    return rows.map((row, i): ReportOutcome => {
      const outcome = result.outcomes[i];
      const exchange = result.exchanges.find((x) => x.records.includes(i + 1));
      const sent = {
        ...base,
        id: row.id,
        attempted: true,
        messageId: exchange?.requestId ?? base.messageId,
      };
      if (outcome?.ok) {
        return {
          ...sent,
          status: 'REPORTED',
          alreadyRecorded: outcome.alreadyRecorded,
        };
      }
      return {
        ...sent,
        status: 'DEAD',
        lastError: {
          code: 'REPORT_REJECTED',
          reportCode: outcome?.code ?? null,
          recordNumber: i + 1,
          message: outcome?.message ?? '',
        },
      };
    });
  }
  if (error === null) {
    throw new TenantGateError('INTERNAL', 'A report attempt without result');
  }
  const named = namedRecord(error, rows.length);
  if (named !== null) {
    return rows.map((row, i): ReportOutcome =>
      i + 1 === named
        ? {
            ...base,
            id: row.id,
            status: 'DEAD',
            attempted: true,
            lastError: errorFields(error),
          }
        : { ...base, id: row.id, status: 'PENDING', attempted: false },
    );
  }
  const status: ReportOutcome['status'] = REFUSALS.has(error.code)
    ? 'PENDING'
    : error.retryable || error.code === 'SEND_OUTCOME_UNKNOWN'
      ? 'FAILED'
      : 'DEAD';
  return rows.map((row) => ({
    ...base,
    id: row.id,
    status,
    attempted: true,
    lastError: errorFields(error),
  }));
}

/**
 * The record a request-level refusal names, when the code is about one
 * record's data (S005, S007, S009–S012) rather than the request's
 * signature or signer, in a batch of more than one.
 */
function namedRecord(error: TenantGateError, count: number): number | null {
  if (error.code !== 'REPORT_REJECTED' || count < 2) return null;
  const n = error.details.recordNumber;
  const code = String(error.details.code ?? '');
  if (['S002', 'S003', 'S004', 'S006'].includes(code)) return null;
  return typeof n === 'number' && n >= 1 && n <= count ? n : null;
}

function errorFields(error: TenantGateError): Record<string, unknown> {
  const d = error.details;
  return {
    code: error.code,
    name: error.name,
    reportCode: typeof d.code === 'string' ? d.code : null,
    recordNumber: typeof d.recordNumber === 'number' ? d.recordNumber : null,
    message: error.message,
  };
}

function documentIdOf(rows: readonly ClaimedReport[]): string {
  const first = rows[0]?.number ?? '';
  return rows.length === 1 ? first : `${first} (+${rows.length - 1})`;
}

function dueItem(row: ReportRow, today: string): DueItem {
  const error = row.lastError;
  return {
    reportId: row.id,
    einvoiceId: row.einvoiceId,
    number: row.number,
    kind: row.kind,
    direction: row.direction,
    status: row.status,
    deadline: row.deadline,
    daysLeft: daysLeft(row.deadline, today),
    overdue: isOverdue(row.deadline, today),
    attempts: row.attempts,
    lastError: error
      ? String(error.reportCode ?? error.code ?? 'INTERNAL') +
        (typeof error.recordNumber === 'number'
          ? ` (record ${error.recordNumber})`
          : '')
      : null,
  };
}

/** Payments belong to outgoing e-invoices, rejections to incoming. */
function assertRegistrable(
  facts: { direction: string; status: string; id: string },
  kind: 'PAYMENT' | 'REJECTION',
): void {
  const wanted = kind === 'PAYMENT' ? 'OUTBOUND' : 'INBOUND';
  if (facts.direction !== wanted) {
    throw invalidInput(
      'einvoiceId',
      kind === 'PAYMENT' ? 'payment-of-outgoing' : 'rejection-of-incoming',
      kind === 'PAYMENT'
        ? 'einvoiceId: payments are reported by the issuer, for outgoing e-invoices'
        : 'einvoiceId: rejections are reported by the recipient, for incoming e-invoices',
      { einvoiceId: facts.id, direction: facts.direction },
    );
  }
  const reportable =
    facts.direction === 'INBOUND' ||
    (REPORTABLE_STATUSES as readonly string[]).includes(facts.status);
  if (!reportable) {
    throw invalidInput(
      'einvoiceId',
      'issued',
      `einvoiceId: the e-invoice was not issued (status ${facts.status})`,
      { einvoiceId: facts.id, status: facts.status },
    );
  }
}

function assertPastDate(value: string, field: string, today: string): void {
  if (typeof value !== 'string' || !isCalendarDate(value)) {
    throw invalidInput(field, 'date', `${field}: a date YYYY-MM-DD`);
  }
  if (value > today) {
    throw invalidInput(
      field,
      'not-future',
      `${field}: must not be after today`,
    );
  }
  if (value < '2026-01-01') {
    throw invalidInput(
      field,
      'date-range',
      `${field}: Fiskalizacija 2.0 reporting starts on 2026-01-01`,
    );
  }
}

function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  field: string,
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw invalidInput(
    field,
    'enum',
    `${field}: one of ${allowed.join(', ')}, got '${value}'`,
  );
}

function positiveAmount(value: string, field: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!/^\d{1,16}(\.\d{1,2})?$/.test(text) || Number(text) <= 0) {
    throw invalidInput(
      field,
      'amount',
      `${field}: a positive amount with at most two decimals`,
    );
  }
  const [whole, cents = ''] = text.split('.');
  return `${BigInt(whole ?? '0').toString()}.${cents.padEnd(2, '0')}`;
}

/**
 * Refuses a payment that, with those registered before it, would pay
 * more than the e-invoice asks (its PayableAmount); an e-invoice whose
 * payable amount is unknown is not checked.
 */
async function assertWithinPayable(
  tx: Queryable,
  einvoiceId: string,
  report: { payload: Record<string, unknown>; idempotencyKey: string },
): Promise<void> {
  const balance = await paymentBalance(tx, einvoiceId, report.idempotencyKey);
  if (balance.payable === null) return;
  const amount = String(report.payload.amount);
  const remaining = cents(balance.payable) - cents(balance.paid);
  if (cents(amount) <= remaining) return;
  const left = `${formatCents(remaining > 0n ? remaining : 0n)} ${balance.currency}`;
  throw invalidInput(
    'amount',
    'within-payable',
    `amount: ${amount} is more than the e-invoice's remaining payable ` +
      `amount, ${left} (payable ${balance.payable}, registered ` +
      `${formatCents(cents(balance.paid))})`,
    { einvoiceId, remaining: formatCents(remaining > 0n ? remaining : 0n) },
  );
}

/** Decimal text with at most two decimals (numeric(18,2)), in cents. */
function cents(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace(/^-/, '').split('.');
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0') || '0');
  return negative ? -value : value;
}

function formatCents(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

function eInvoiceNotFound(companyId: string, einvoiceId: string) {
  return new TenantGateError(
    'EINVOICE_NOT_FOUND',
    'No e-invoice with that id for the company',
    { companyId, einvoiceId },
  );
}

function reportId(): string {
  return `er_${randomUUID()}`;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}
