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
  /** Resolves when the intermediary answers and accepts the credentials. */
  ping(auth: RequestAuthoriser): Promise<void>;
}
