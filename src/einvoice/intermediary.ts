import type { RequestAuthoriser } from '../vault/vault.js';

// Protocol clients never hold a secret: they build the headers, let the
// vault's authoriser add the credential, and send.
export type { RequestAuthoriser };

/** The intermediaries TenantGate sends e-invoices through. */
export type IntermediaryKind =
  | 'EINVOICE_EPOSLOVANJE'
  | 'EINVOICE_FINA'
  | 'EINVOICE_IE_RACUNI'
  | 'EINVOICE_MOJ_ERACUN';

/** What the intermediary said when it accepted a document. */
export interface SendResult {
  /** The intermediary's id for the document; store it before SENT. */
  providerRef: string;
  /** When the intermediary recorded it (ISO 8601, as it reported). */
  acceptedAt: string;
  message?: string;
}

export interface DocumentStatus {
  providerRef: string;
  /** The intermediary's own status word, unmapped. */
  status: string;
}

/** One document in the intermediary's own listing of what we sent. */
export interface OutgoingDocument {
  /** The intermediary's id for the document (as `send` returned it). */
  providerRef: string;
  sellerOib: string;
  /** The document's `cbc:ID` (invoice number). */
  documentNumber: string;
  /** The intermediary's own status word, unmapped. */
  status: string;
  /** When the intermediary recorded it (ISO 8601, as it reported). */
  submittedAt: string;
}

/** One document addressed to the account's company. */
export interface IncomingDocument {
  /** The intermediary's id for the document: the deduplication key. */
  providerRef: string;
  senderOib: string;
  /** The document's number as the listing gives it (may be ''). */
  documentNumber: string;
  /** When the intermediary received it (ISO 8601, as it reported). */
  receivedAt: string;
}

/**
 * One page of the inbox, oldest first.
 *
 * `nextCursor` is the position right after this page: the poller stores
 * it (in the same transaction as the page's documents) and passes it to
 * the next call. It is never advanced past documents not returned. A
 * page with no documents means the inbox is read to its end; its
 * `nextCursor` is then the cursor passed in (or the intermediary's
 * current position). `null` means the intermediary keeps no position
 * (start again from the beginning; deduplication absorbs repeats).
 * Cursors are opaque to the poller and specific to one intermediary.
 */
export interface IncomingPage {
  documents: IncomingDocument[];
  nextCursor: string | null;
}

export interface SendOptions {
  /** Aborting after the request left counts as an unknown outcome. */
  signal?: AbortSignal;
}

/**
 * One client per intermediary. Failures are TenantGateErrors:
 * COUNTERPART_REJECTED (the document was refused, `details.errors` has
 * the findings), COUNTERPART_AUTH_FAILED, COUNTERPART_UNAVAILABLE
 * (retryable: nothing was accepted) and, for `send` only,
 * SEND_OUTCOME_UNKNOWN (the document may have arrived: look it up, never
 * resend blindly).
 */
export interface IntermediaryClient {
  readonly kind: IntermediaryKind;
  send(
    doc: { ublXml: string },
    auth: RequestAuthoriser,
    opts?: SendOptions,
  ): Promise<SendResult>;
  status(providerRef: string, auth: RequestAuthoriser): Promise<DocumentStatus>;
  /**
   * The intermediary's listing of documents we sent for `sellerOib`,
   * narrowed to `documentNumber` and to those recorded at or after
   * `since` (ISO 8601) when given. Used to reconcile an unknown send
   * outcome before anything is resent. Read-only, safe to repeat.
   */
  outgoing(
    query: { sellerOib: string; documentNumber?: string; since?: string },
    auth: RequestAuthoriser,
  ): Promise<OutgoingDocument[]>;
  /**
   * One page of the inbox starting at `cursor` (`null`: the beginning).
   * A failure throws (COUNTERPART_UNAVAILABLE, …): never a partial page.
   */
  incoming(
    cursor: string | null,
    auth: RequestAuthoriser,
  ): Promise<IncomingPage>;
  /** The document's UBL exactly as the intermediary holds it. */
  fetchDocument(
    providerRef: string,
    auth: RequestAuthoriser,
  ): Promise<{ ublXml: string }>;
  /** Resolves when the intermediary answers and accepts the credentials. */
  ping(auth: RequestAuthoriser): Promise<void>;
}
