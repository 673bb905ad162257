import { setTimeout as sleep } from 'node:timers/promises';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type {
  IntermediaryClient,
  OutgoingDocument,
  RequestAuthoriser,
  SendResult,
} from './intermediary.js';

/** How a send is retried within one attempt. */
export interface RetryPolicy {
  /** Requests in all, the first included. Default 3. */
  attempts: number;
  /** Delay before the first retry; doubles after each. Default 250 ms. */
  baseDelayMs: number;
  /**
   * Longest wait between two requests. A `Retry-After` longer than this
   * ends the attempt (the error keeps `retryAfterMs` for the caller's
   * scheduler). Default 10 000 ms.
   */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
};

/**
 * How far before our own clock a listed document may be stamped and
 * still count as this send (the intermediary's clock is not ours).
 */
export const CLOCK_MARGIN_MS = 10 * 60_000;

/** What a retryable failure allows next. */
type NextStep = 'resend' | 'look-up-first' | 'stop';

/**
 * 429 and a connection that never opened prove nothing was accepted:
 * send again. A 5xx or 408 may come from a gateway after the service
 * stored the document: look it up in the outgoing listing first. Any
 * other failure ends the attempt (SEND_OUTCOME_UNKNOWN above all: that
 * one is reconciled later, never retried here).
 */
function nextStep(error: unknown): NextStep {
  if (!(error instanceof TenantGateError)) return 'stop';
  if (error.code !== 'COUNTERPART_UNAVAILABLE') return 'stop';
  const status = error.details.status;
  if (status === 429) return 'resend';
  if (error.details.reason === 'not_connected') return 'resend';
  if (typeof status === 'number' && (status >= 500 || status === 408)) {
    return 'look-up-first';
  }
  return 'stop';
}

/** The wait before request `n` (2, 3, …), or undefined to stop. */
function delayBefore(
  n: number,
  error: TenantGateError,
  policy: RetryPolicy,
): number | undefined {
  const backoff = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** (n - 2),
  );
  // Up to a fifth more, so that many senders do not retry in step.
  const jittered = backoff + Math.floor(Math.random() * (backoff / 5));
  const asked = error.details.retryAfterMs;
  if (typeof asked !== 'number') return jittered;
  if (asked > policy.maxDelayMs) return undefined;
  return Math.max(asked, jittered);
}

/**
 * Finds the document among those the intermediary lists as sent by the
 * seller under `documentNumber` since `since`: the earliest match, so
 * that a document delivered twice is still tied to its first delivery.
 */
export async function findSent(
  client: IntermediaryClient,
  auth: RequestAuthoriser,
  query: { sellerOib: string; documentNumber: string; since: Date },
): Promise<OutgoingDocument | undefined> {
  const listed = await client.outgoing(
    {
      sellerOib: query.sellerOib,
      documentNumber: query.documentNumber,
      since: new Date(query.since.getTime() - CLOCK_MARGIN_MS).toISOString(),
    },
    auth,
  );
  return [...listed]
    .filter(
      (d) =>
        d.sellerOib === query.sellerOib &&
        d.documentNumber === query.documentNumber,
    )
    .sort((a, b) => Date.parse(a.submittedAt) - Date.parse(b.submittedAt))[0];
}

/**
 * Sends with retries for 429 (honouring `Retry-After`), connections
 * that never opened, and 5xx/408, looking the document up in the
 * intermediary's outgoing listing before any resend that could be a
 * second delivery. The last error is thrown with `details.attempts`.
 */
export async function sendWithRetry(
  client: IntermediaryClient,
  auth: RequestAuthoriser,
  doc: { ublXml: string; sellerOib: string; documentNumber: string },
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<SendResult> {
  const started = new Date();
  let lookUpFirst = false;
  for (let n = 1; ; n += 1) {
    try {
      if (lookUpFirst) {
        // A failed lookup is one more failed request: no resend yet.
        const found = await findSent(client, auth, {
          sellerOib: doc.sellerOib,
          documentNumber: doc.documentNumber,
          since: started,
        });
        if (found) {
          return {
            providerRef: found.providerRef,
            acceptedAt: found.submittedAt,
            message: 'Found in the outgoing listing after a failed reply',
          };
        }
        lookUpFirst = false;
      }
      return await client.send({ ublXml: doc.ublXml }, auth);
    } catch (error) {
      const step = nextStep(error);
      if (step === 'stop' || n >= policy.attempts) throw withAttempts(error, n);
      const wait = delayBefore(n + 1, error as TenantGateError, policy);
      if (wait === undefined) throw withAttempts(error, n);
      lookUpFirst ||= step === 'look-up-first';
      await sleep(wait);
    }
  }
}

function withAttempts(error: unknown, attempts: number): unknown {
  if (error instanceof TenantGateError) error.details.attempts = attempts;
  return error;
}
