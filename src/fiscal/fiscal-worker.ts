import { randomUUID } from 'node:crypto';
import type PgBoss from 'pg-boss';
import { tenant, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import { receiptNumber, type FiscalService } from './fiscal-service.js';
import {
  findRequest,
  insertQueued,
  receiptFromStore,
  storedReceipt,
} from './fiscal-store.js';
import { prepareReceipt, type ReceiptInput } from './receipt.js';

/** The pg-boss queue of receipts to fiscalize. */
export const FISCAL_QUEUE = 'fiscal-receipt';

/** A job: which FiscalRequest row to send. */
export interface FiscalJob {
  requestId: string;
  companyId: string;
}

export interface FiscalQueueDeps {
  db: Database;
  boss: PgBoss;
  fiscal: FiscalService;
  logger: Logger;
}

export interface WorkerOptions {
  /** Polling loops of this process. Default 2. */
  concurrency?: number;
  /**
   * Jobs one loop fetches and runs at once. Default 8. pg-boss polls at
   * most every 0.5 s per loop, so this sets the ceiling of throughput.
   */
  batchSize?: number;
  /** How often an idle worker polls, seconds. Default 0.5. */
  pollingIntervalSeconds?: number;
}

/** Retries of a job while CIS is unavailable. */
export interface QueueRetryOptions {
  /** Retries after the first run. Default 8. */
  retryLimit?: number;
  /** Seconds before the first retry, doubled after each. Default 2. */
  retryDelay?: number;
}

/**
 * Creates the queue (idempotent). Call once after `boss.start()`. A job
 * whose retries run out leaves its row DEAD.
 */
export async function createFiscalQueue(
  boss: PgBoss,
  options: QueueRetryOptions = {},
): Promise<void> {
  await boss.createQueue(FISCAL_QUEUE, {
    name: FISCAL_QUEUE,
    retryLimit: options.retryLimit ?? 8,
    retryDelay: options.retryDelay ?? 2,
    retryBackoff: true,
    // A worker that died mid-request is presumed gone after this; its
    // job runs again and is resent as a late delivery, same ZKI.
    expireInSeconds: 120,
  });
}

/**
 * Checks a receipt (INVALID_INPUT before anything is queued), stores it
 * as a QUEUED FiscalRequest and queues its job. Returns the row's id.
 */
export async function enqueueReceipt(
  deps: FiscalQueueDeps,
  companyId: string,
  input: ReceiptInput,
): Promise<string> {
  const receipt = prepareReceipt(input);
  const id = `fr_${randomUUID()}`;
  await deps.db.transaction(tenant(companyId), (tx) =>
    insertQueued(tx, {
      id,
      companyId,
      invoiceNumber: receiptNumber(receipt),
      issuedAt: receipt.issuedAt,
      receipt: storedReceipt(receipt),
    }),
  );
  const job: FiscalJob = { requestId: id, companyId };
  await deps.boss.send(FISCAL_QUEUE, job, { singletonKey: id });
  return id;
}

/**
 * Works the queue: QUEUED → PROCESSING → SUCCESS, FAILED (retried by
 * pg-boss with backoff while CIS is unavailable or a reply was lost) or
 * DEAD (CIS refused it; not retried). Returns a stop function.
 */
export async function startFiscalWorker(
  deps: FiscalQueueDeps,
  options: WorkerOptions = {},
): Promise<() => Promise<void>> {
  const log = deps.logger.child({ worker: FISCAL_QUEUE });
  const ids: string[] = [];
  for (let i = 0; i < (options.concurrency ?? 2); i++) {
    ids.push(
      await deps.boss.work<FiscalJob>(
        FISCAL_QUEUE,
        {
          batchSize: options.batchSize ?? 8,
          includeMetadata: true,
          pollingIntervalSeconds: options.pollingIntervalSeconds ?? 0.5,
        },
        async (jobs) => {
          // One failed job must not fail the batch: fail it alone so
          // pg-boss retries just that one; the rest complete.
          await Promise.all(
            jobs.map((job) =>
              runJob(
                deps,
                log,
                job.data,
                job.retryCount >= job.retryLimit,
              ).catch((error: unknown) =>
                deps.boss.fail(FISCAL_QUEUE, job.id, {
                  message: error instanceof Error ? error.message : 'failed',
                }),
              ),
            ),
          );
        },
      ),
    );
  }
  return async () => {
    for (const id of ids) await deps.boss.offWork({ id });
  };
}

async function runJob(
  deps: FiscalQueueDeps,
  log: Logger,
  job: FiscalJob,
  lastTry: boolean,
) {
  const row = await deps.db.transaction(tenant(job.companyId), (tx) =>
    findRequest(tx, job.requestId),
  );
  if (!row?.receipt || row.status === 'SUCCESS' || row.status === 'DEAD') {
    return;
  }
  try {
    const result = await deps.fiscal.fiscalizePrepared(
      { companyId: job.companyId, origin: 'worker' },
      receiptFromStore(row.receipt),
      row.id,
    );
    log.info({
      event: 'fiscal.job_done',
      requestId: row.id,
      companyId: job.companyId,
      lateDelivery: result.lateDelivery,
    });
  } catch (error) {
    const retry =
      error instanceof TenantGateError &&
      (error.retryable || error.code === 'SEND_OUTCOME_UNKNOWN');
    log.warn({
      event: retry && !lastTry ? 'fiscal.job_retry' : 'fiscal.job_dead',
      requestId: row.id,
      companyId: job.companyId,
      code: error instanceof TenantGateError ? error.code : 'INTERNAL',
    });
    if (!retry) return;
    if (!lastTry) throw error;
    // Out of retries: DEAD, and its deliverBy says by when someone
    // must deliver it (NakDost) once CIS is back.
    await deps.db.transaction(tenant(job.companyId), (tx) =>
      tx.query(
        `UPDATE "FiscalRequest" SET status = 'DEAD', "updatedAt" = now()
          WHERE id = $1 AND status = 'FAILED'`,
        [row.id],
      ),
    );
  }
}
