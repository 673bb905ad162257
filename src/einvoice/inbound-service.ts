import { XMLParser } from 'fast-xml-parser';
import type { EInvoiceKind } from '../accounts/kinds.js';
import { tenant, type Database } from '../db/database.js';
import type {
  EnforcementGate,
  Route,
  RouteFacts,
} from '../enforcement/gate.js';
import {
  invalidInput,
  TenantGateError,
  toTenantGateError,
} from '../errors/tenantgate-error.js';
import type { Origin } from '../events/operation-event.js';
import type { Logger } from '../logging/logger.js';
import {
  commitPage,
  readSyncState,
  recordPollFailure,
  type InboundRow,
  type SyncKey,
} from './inbound-store.js';
import type {
  IncomingDocument,
  IncomingPage,
  IntermediaryClient,
} from './intermediary.js';
import type { IntermediaryDirectory } from './outbound.js';
import { readUblFacts } from './ubl-facts.js';

const UBL_NAMESPACES: Record<string, 'INVOICE' | 'CREDIT_NOTE'> = {
  'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2': 'INVOICE',
  'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2': 'CREDIT_NOTE',
};

const rootParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
});

const AMOUNT = /^-?\d{1,16}(\.\d+)?$/;

/**
 * Reads a received UBL document whatever prefixes its namespaces use
 * (`<Invoice xmlns=…>`, `<inv:Invoice>`, `<ns7:ID>`…): the root must be
 * in the UBL Invoice-2 or CreditNote-2 namespace, resolved from its own
 * declaration, and the facts are read by local name.
 */
export function parseInboundUbl(xml: string) {
  const facts = readUblFacts(xml);
  const parsed = rootParser.parse(xml) as Record<string, unknown>;
  const rootName = Object.keys(parsed).find((k) => !k.startsWith('?'));
  const root = rootName ? parsed[rootName] : undefined;
  const prefix = rootName?.includes(':') ? rootName.split(':')[0] : undefined;
  const attrs =
    typeof root === 'object' && root !== null
      ? (root as Record<string, unknown>)
      : {};
  const namespace = attrs[prefix ? `@xmlns:${prefix}` : '@xmlns'];
  const type =
    typeof namespace === 'string' ? UBL_NAMESPACES[namespace] : undefined;
  if (type === undefined) {
    throw invalidInput(
      'document',
      'ubl-namespace',
      'document: the root element is not in the UBL Invoice-2 or CreditNote-2 namespace',
    );
  }
  const amount = (value: string | null) =>
    value !== null && AMOUNT.test(value) ? value : null;
  return {
    ...facts,
    documentType: type,
    netAmount: amount(facts.netAmount),
    vatAmount: amount(facts.vatAmount),
    totalAmount: amount(facts.totalAmount),
  };
}

/** What to poll: a company's inbox at one intermediary. */
export interface PollTarget {
  companyId: string;
  /** Default: the company's default intermediary. */
  kind?: EInvoiceKind;
  origin?: Origin;
  actor?: string;
  correlationId?: string;
}

export interface PollResult {
  companyId: string;
  kind: string | null;
  path: 'V1' | 'V2' | null;
  integrationAccountId: string | null;
  /** Pages committed (each with its documents and cursor). */
  pages: number;
  /** New documents stored. */
  received: number;
  /** Listed documents already stored (skipped). */
  duplicates: number;
  cursorBefore: string | null;
  cursorAfter: string | null;
  /** The page that failed, if one did: the cursor stays before it. */
  error?: TenantGateError;
}

interface FetchedPage {
  key: SyncKey;
  cursor: string | null;
  page: IncomingPage;
  rows: InboundRow[];
}

/**
 * Polls a company's inbox at an intermediary (EINVOICE_RECEIVE), page by
 * page. Each page is one gate operation: the route (V2 account or V1
 * legacy key, by FF_INTEGRATION_ACCOUNT_INBOUND and enforcement), the
 * cursor of that account, the listing, every listed document fetched,
 * and then, in one transaction with the operation event, the documents
 * stored and the cursor moved past them. A page that fails in any part
 * stores nothing and leaves the cursor where it was.
 */
export class InboundService {
  constructor(
    private readonly deps: {
      db: Database;
      gate: EnforcementGate;
      intermediaries: IntermediaryDirectory;
      logger: Logger;
    },
  ) {}

  async poll(
    target: PollTarget,
    options: { maxPages?: number } = {},
  ): Promise<PollResult> {
    const maxPages = options.maxPages ?? 20;
    const result: PollResult = {
      companyId: target.companyId,
      kind: target.kind ?? null,
      path: null,
      integrationAccountId: null,
      pages: 0,
      received: 0,
      duplicates: 0,
      cursorBefore: null,
      cursorAfter: null,
    };
    for (let n = 0; n < maxPages; n += 1) {
      let fetched: FetchedPage;
      let counts: { inserted: string[]; duplicates: number } | undefined;
      try {
        fetched = await this.deps.gate.run(
          {
            companyId: target.companyId,
            operation: 'EINVOICE_RECEIVE',
            kind: target.kind,
            origin: target.origin ?? 'worker',
            actor: target.actor,
            correlationId: target.correlationId,
          },
          {
            execute: (route) => this.fetchPage(route),
            record: async (tx, attempt) => {
              if (attempt.ok) {
                const { key, cursor, page, rows } = attempt.value;
                counts = await commitPage(tx, key, {
                  from: cursor,
                  to: page.nextCursor,
                  rows,
                });
                return;
              }
              const key = keyOf(attempt.route);
              if (key) {
                await recordPollFailure(tx, key, attempt.error.toJSON());
              }
            },
          },
        );
      } catch (error) {
        result.error = toTenantGateError(error);
        break;
      }
      if (n === 0) {
        result.cursorBefore = fetched.cursor;
        result.kind = fetched.key.kind;
        result.integrationAccountId = fetched.key.accountId;
        result.path = fetched.key.accountId === null ? 'V1' : 'V2';
      }
      result.pages += 1;
      result.received += counts?.inserted.length ?? 0;
      result.duplicates += counts?.duplicates ?? 0;
      result.cursorAfter = fetched.page.nextCursor;
      const moved = fetched.page.nextCursor !== fetched.cursor;
      if (fetched.page.documents.length === 0 || !moved) break;
      if (fetched.page.nextCursor === null) break;
    }
    this.deps.logger.info({
      event: 'einvoice.inbound_polled',
      companyId: target.companyId,
      kind: result.kind,
      path: result.path,
      integrationAccountId: result.integrationAccountId,
      pages: result.pages,
      received: result.received,
      duplicates: result.duplicates,
      failed: result.error?.code ?? null,
    });
    return result;
  }

  /** The inbox's cursor and bookkeeping, by the route a poll would take. */
  async syncState(key: SyncKey) {
    return this.deps.db.transaction(tenant(key.companyId), (tx) =>
      readSyncState(tx, key),
    );
  }

  private async fetchPage(route: Route): Promise<FetchedPage> {
    const key = keyOf(route) as SyncKey;
    const state = await this.syncState(key);
    const cursor = state?.cursor ?? null;
    const client = this.deps.intermediaries.client(route.kind, route.account);
    const page = await client.incoming(cursor, route.authoriser);
    const rows: InboundRow[] = [];
    for (const listed of page.documents) {
      rows.push(await this.fetchOne(client, route, listed));
    }
    return { key, cursor, page, rows };
  }

  /**
   * Fetches and reads one document. A transient failure fails the page
   * (nothing stored, the cursor stays). A document the intermediary
   * refuses to hand over, or that does not read as UBL, is stored as
   * ERROR with the reason, so that one bad document neither blocks the
   * inbox nor disappears.
   */
  private async fetchOne(
    client: IntermediaryClient,
    route: Route,
    listed: IncomingDocument,
  ): Promise<InboundRow> {
    let xml: string;
    try {
      ({ ublXml: xml } = await client.fetchDocument(
        listed.providerRef,
        route.authoriser,
      ));
    } catch (error) {
      const e = toTenantGateError(error);
      if (e.code !== 'COUNTERPART_REJECTED') throw e;
      return unreadable(listed, '', e);
    }
    try {
      const facts = parseInboundUbl(xml);
      return {
        providerRef: listed.providerRef,
        status: 'DELIVERED',
        documentType: facts.documentType,
        number: facts.number,
        issueDate: facts.issueDate,
        sellerOib: facts.sellerOib,
        buyerOib: facts.buyerOib,
        buyerName: facts.buyerName,
        currency: facts.currency,
        netAmount: facts.netAmount,
        vatAmount: facts.vatAmount,
        totalAmount: facts.totalAmount,
        ublXml: xml,
        receivedAt: listed.receivedAt,
        lastError: null,
      };
    } catch (error) {
      return unreadable(listed, xml, toTenantGateError(error));
    }
  }
}

function keyOf(route: RouteFacts | null): SyncKey | undefined {
  if (!route) return undefined;
  return {
    companyId: route.companyId,
    accountId: route.account?.id ?? null,
    kind: route.kind as EInvoiceKind,
  };
}

function unreadable(
  listed: IncomingDocument,
  xml: string,
  error: TenantGateError,
): InboundRow {
  const received = Date.parse(listed.receivedAt);
  const day = Number.isNaN(received) ? new Date() : new Date(received);
  return {
    providerRef: listed.providerRef,
    status: 'ERROR',
    documentType: 'INVOICE',
    number: listed.documentNumber || listed.providerRef,
    issueDate: day.toISOString().slice(0, 10),
    sellerOib: listed.senderOib,
    buyerOib: null,
    buyerName: null,
    currency: 'EUR',
    netAmount: null,
    vatAmount: null,
    totalAmount: null,
    ublXml: xml,
    receivedAt: listed.receivedAt,
    lastError: error.toJSON(),
  };
}
