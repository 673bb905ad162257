import { randomUUID } from 'node:crypto';
import type PgBoss from 'pg-boss';
import { owner, tenant, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import { receiptNumber, type FiscalService } from './fiscal-service.js';
import {
  findRequests,
  insertQueued,
  insertQueuedMany,
  leaseStranded,
  receiptFromStore,
  storedReceipt,
  type FiscalRequestRow,
} from './fiscal-store.js';
import { prepareReceipt, type ReceiptInput } from './receipt.js';

/** The pg-boss queue of receipts to fiscalize. */
export const FISCAL_QUEUE = 'fiscal-receipt';

/** The scheduled sweep of `tenantgate worker` (requeueStrandedReceipts). */
export const FISCAL_REQUEUE_QUEUE = 'fiscal-requeue';
/** Every five minutes. */
export const FISCAL_REQUEUE_CRON = '*/5 * * * *';

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
   * Jobs one loop keeps running at once. Default 8. A loop fetches again
   * as soon as half of them are done, not when the slowest is.
   */
  batchSize?: number;
  /** How often an idle loop polls, seconds. Default 0.5. */
  pollingIntervalSeconds?: number;
  /**
   * The sweep at start requeues rows stranded this long (see
   * requeueStrandedReceipts). Default 300.
   */
  strandedAfterSeconds?: number;
}

export interface RequeueOptions {
  /** Rows changed more recently than this are left alone. Default 300. */
  olderThanSeconds?: number;
  /** Rows taken per statement. Default 500. */
  batchSize?: number;
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
 * Queues many receipts of one company at once (a till's backlog): all
 * are checked first (INVALID_INPUT, nothing queued), then stored QUEUED
 * in one statement and their jobs inserted in one call. Returns the
 * rows' ids in input order.
 */
export async function enqueueReceipts(
  deps: FiscalQueueDeps,
  companyId: string,
  inputs: ReceiptInput[],
): Promise<string[]> {
  const rows = inputs.map((input) => {
    const receipt = prepareReceipt(input);
    return {
      id: `fr_${randomUUID()}`,
      companyId,
      invoiceNumber: receiptNumber(receipt),
      issuedAt: receipt.issuedAt,
      receipt: storedReceipt(receipt),
    };
  });
  if (rows.length === 0) return [];
  await deps.db.transaction(tenant(companyId), (tx) =>
    insertQueuedMany(tx, rows),
  );
  await deps.boss.insert(
    rows.map((row) => ({
      name: FISCAL_QUEUE,
      data: { requestId: row.id, companyId } satisfies FiscalJob,
      singletonKey: row.id,
    })),
  );
  return rows.map((row) => row.id);
}

/**
 * The sweep for receipts no job will fiscalize: a row is committed
 * QUEUED before its job is inserted, so a process that dies (or a
 * pg-boss error) in between strands it. Queues a job again (same
 * `singletonKey`) for every QUEUED row, and every PROCESSING or FAILED
 * row that had a job once, unchanged for `olderThanSeconds` and with no
 * job created, retrying or active. Such a PROCESSING or FAILED row may
 * have reached CIS: the worker resends it with its ZKI as a late
 * delivery and keeps the one JIR. Each row is leased for the same time
 * first, so concurrent sweeps (and a crash before the insert) queue it
 * once; its job's insert failing leaves it to the next sweep. Logs
 * `fiscal.requeued` per row; returns how many were queued.
 */
export async function requeueStrandedReceipts(
  deps: Pick<FiscalQueueDeps, 'db' | 'boss' | 'logger'>,
  options: RequeueOptions = {},
): Promise<number> {
  const olderThanSeconds = options.olderThanSeconds ?? 300;
  const limit = options.batchSize ?? 500;
  let count = 0;
  for (;;) {
    const rows = await deps.db.transaction(owner, (tx) =>
      leaseStranded(tx, {
        queue: FISCAL_QUEUE,
        olderThanSeconds,
        leaseSeconds: Math.max(olderThanSeconds, 60),
        limit,
      }),
    );
    if (rows.length === 0) break;
    await deps.boss.insert(
      rows.map((row) => ({
        name: FISCAL_QUEUE,
        data: {
          requestId: row.id,
          companyId: row.companyId,
        } satisfies FiscalJob,
        singletonKey: row.id,
      })),
    );
    for (const row of rows) {
      deps.logger.info({
        event: 'fiscal.requeued',
        requestId: row.id,
        companyId: row.companyId,
        status: row.status,
      });
    }
    count += rows.length;
    if (rows.length < limit) break;
  }
  return count;
}

/**
 * Works the queue: QUEUED → PROCESSING → SUCCESS, FAILED (retried by
 * pg-boss with backoff while CIS is unavailable or a reply was lost) or
 * DEAD (CIS refused it; not retried). Each loop keeps up to `batchSize`
 * jobs running and fetches more (`boss.fetch`) once half of them are
 * done, completing or failing each job on its own; pg-boss keeps
 * retries, backoff and expiry. First requeues stranded receipts once
 * (requeueStrandedReceipts; a failure is logged, not thrown). Returns a
 * stop function that waits for the running jobs.
 */
export async function startFiscalWorker(
  deps: FiscalQueueDeps,
  options: WorkerOptions = {},
): Promise<() => Promise<void>> {
  const log = deps.logger.child({ worker: FISCAL_QUEUE });
  try {
    await requeueStrandedReceipts(deps, {
      olderThanSeconds: options.strandedAfterSeconds,
    });
  } catch (error) {
    log.error({
      event: 'fiscal.requeue_failed',
      reason: error instanceof Error ? error.message : String(error),
    });
  }
  const size = options.batchSize ?? 8;
  const idleMs = (options.pollingIntervalSeconds ?? 0.5) * 1000;
  const state = { stopping: false, wake: new Set<() => void>() };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < (options.concurrency ?? 2); i++) {
    loops.push(workLoop(deps, log, size, idleMs, state));
  }
  return async () => {
    state.stopping = true;
    for (const wake of state.wake) wake();
    await Promise.all(loops);
  };
}

async function workLoop(
  deps: FiscalQueueDeps,
  log: Logger,
  size: number,
  idleMs: number,
  state: { stopping: boolean; wake: Set<() => void> },
): Promise<void> {
  const running = new Set<Promise<void>>();
  const completions = new CompletionBatch(deps.boss, log);
  while (!state.stopping) {
    let jobs: PgBoss.JobWithMetadata<FiscalJob>[] = [];
    if (running.size <= size / 2) {
      try {
        // The jobs done since the last fetch, in one statement.
        await completions.flush();
        jobs = await deps.boss.fetch<FiscalJob>(FISCAL_QUEUE, {
          batchSize: size - running.size,
          includeMetadata: true,
        });
      } catch (error) {
        log.error({
          event: 'fiscal.fetch_failed',
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const rows = await loadRows(deps, log, jobs);
    for (const job of jobs) {
      const lastTry = job.retryCount >= job.retryLimit;
      const done = runJob(deps, log, job.data, rows(job.data), lastTry)
        .then(
          () => completions.add(job.id),
          // One failed job must not fail the others: pg-boss retries
          // just this one.
          (error: unknown) =>
            deps.boss.fail(FISCAL_QUEUE, job.id, {
              message: error instanceof Error ? error.message : 'failed',
            }),
        )
        .catch((error: unknown) =>
          log.error({
            event: 'fiscal.job_state_failed',
            jobId: job.id,
            reason: error instanceof Error ? error.message : String(error),
          }),
        )
        .finally(() => running.delete(done));
      running.add(done);
    }
    if (running.size > size / 2) {
      await Promise.race(running);
    } else if (jobs.length === 0) {
      await completions.flush();
      // Idle: poll again later, or as soon as a running job ends.
      await Promise.race([
        new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            state.wake.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, idleMs);
          state.wake.add(wake);
        }),
        ...running,
      ]);
    }
  }
  await Promise.all(running);
  await completions.flush();
}

/**
 * Jobs whose receipt is stored are completed together, just before the
 * loop fetches again or idles: one statement for several jobs. A job
 * not yet completed when the process dies runs again after its expiry
 * and finds its row SUCCESS (nothing sent) or resends it late, as any
 * job of a crashed worker. A failed flush is logged; pg-boss then
 * retries those jobs the same way.
 */
class CompletionBatch {
  private ids: string[] = [];

  constructor(
    private readonly boss: PgBoss,
    private readonly log: Logger,
  ) {}

  add(id: string): void {
    this.ids.push(id);
  }

  async flush(): Promise<void> {
    if (this.ids.length === 0) return;
    const ids = this.ids;
    this.ids = [];
    try {
      await this.boss.complete(FISCAL_QUEUE, ids);
    } catch (error) {
      this.log.error({
        event: 'fiscal.job_state_failed',
        jobIds: ids,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/**
 * The FiscalRequest rows of fetched jobs: one read per company instead
 * of one transaction per job. A company whose read fails leaves its
 * jobs to read their row alone.
 */
async function loadRows(
  deps: FiscalQueueDeps,
  log: Logger,
  jobs: readonly PgBoss.Job<FiscalJob>[],
): Promise<(job: FiscalJob) => FiscalRequestRow | null | undefined> {
  const byCompany = new Map<string, string[]>();
  for (const { data } of jobs) {
    const ids = byCompany.get(data.companyId) ?? [];
    ids.push(data.requestId);
    byCompany.set(data.companyId, ids);
  }
  const found = new Map<string, FiscalRequestRow | null>();
  await Promise.all(
    [...byCompany].map(async ([companyId, ids]) => {
      try {
        const rows = await deps.db.transaction(tenant(companyId), (tx) =>
          findRequests(tx, ids),
        );
        for (const id of ids) found.set(id, null);
        for (const row of rows) found.set(row.id, row);
      } catch (error) {
        log.warn({
          event: 'fiscal.rows_read_failed',
          companyId,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }),
  );
  // undefined: not read; null: read, and no such row.
  return (job) => found.get(job.requestId);
}

async function runJob(
  deps: FiscalQueueDeps,
  log: Logger,
  job: FiscalJob,
  loaded: FiscalRequestRow | null | undefined,
  lastTry: boolean,
) {
  const row =
    loaded === undefined
      ? await deps.db.transaction(tenant(job.companyId), async (tx) => {
          const [one] = await findRequests(tx, [job.requestId]);
          return one;
        })
      : loaded;
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
