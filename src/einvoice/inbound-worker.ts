import type PgBoss from 'pg-boss';
import { EINVOICE_KINDS, type EInvoiceKind } from '../accounts/kinds.js';
import { operator, type Database } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import type { InboundService, PollResult } from './inbound-service.js';

/** The pg-boss queue of inbox polls: one job per (company, intermediary). */
export const INBOUND_QUEUE = 'einvoice-receive';

/** The scheduled fan-out that queues a poll of every inbox. */
export const INBOUND_SCHEDULE_QUEUE = `${INBOUND_QUEUE}-schedule`;

/**
 * A job: poll this company's inbox at this intermediary. The gate picks
 * the route (its integration account, or the legacy key), so the job is
 * per account in effect: one account per (company, kind, environment).
 */
export interface InboundJob {
  companyId: string;
  kind: EInvoiceKind;
}

export interface InboundQueueDeps {
  db: Database;
  boss: PgBoss;
  inbound: InboundService;
  logger: Logger;
  /** The account environment polled (`TEST` or `PROD`). */
  accountEnvironment: 'TEST' | 'PROD';
}

/** Creates the queue (idempotent). Call once after `boss.start()`. */
export async function createInboundQueue(
  boss: PgBoss,
  options: { retryLimit?: number; retryDelay?: number } = {},
): Promise<void> {
  await boss.createQueue(INBOUND_QUEUE, {
    name: INBOUND_QUEUE,
    retryLimit: options.retryLimit ?? 5,
    retryDelay: options.retryDelay ?? 30,
    retryBackoff: true,
    expireInSeconds: 600,
  });
}

/**
 * The inboxes to poll: each ACTIVE e-invoice account of a company with
 * e-invoicing on, and each such company's legacy key (V1) for the kind
 * it names. The gate decides, per poll, which of the two is used.
 */
export async function inboxesToPoll(
  db: Database,
  accountEnvironment: 'TEST' | 'PROD',
): Promise<InboundJob[]> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<InboundJob>(
      `SELECT DISTINCT c.id AS "companyId", a.kind
         FROM "Company" c
         JOIN "IntegrationAccount" a ON a."companyId" = c.id
        WHERE c."eInvoicingEnabled" AND a.status = 'ACTIVE'
          AND a.environment = $1 AND a.kind = ANY($2::text[])
       UNION
       SELECT c.id, CASE c."eInvoiceProvider"
           WHEN 'eposlovanje' THEN 'EINVOICE_EPOSLOVANJE'
           WHEN 'fina' THEN 'EINVOICE_FINA'
           WHEN 'ie-racuni' THEN 'EINVOICE_IE_RACUNI'
           WHEN 'moj-eracun' THEN 'EINVOICE_MOJ_ERACUN' END
         FROM "Company" c
        WHERE c."eInvoicingEnabled"
          AND c."eInvoiceApiKeyEncrypted" IS NOT NULL
          AND c."eInvoiceProvider" IN
            ('eposlovanje', 'fina', 'ie-racuni', 'moj-eracun')
        ORDER BY 1, 2`,
      [accountEnvironment, [...EINVOICE_KINDS]],
    ),
  );
  return rows;
}

/**
 * Queues one poll per inbox. A poll already queued or running for the
 * same inbox is not queued twice (singleton key), so two polls never
 * move one cursor at the same time. Returns how many were queued.
 */
export async function enqueueInboundPolls(
  deps: Pick<InboundQueueDeps, 'db' | 'boss' | 'accountEnvironment'>,
): Promise<number> {
  const jobs = await inboxesToPoll(deps.db, deps.accountEnvironment);
  let queued = 0;
  for (const job of jobs) {
    const id = await deps.boss.send(INBOUND_QUEUE, job, {
      singletonKey: `${job.companyId}:${job.kind}`,
    });
    if (id) queued += 1;
  }
  return queued;
}

/**
 * Works the queue: each job polls one inbox. A poll whose page failed
 * for a retryable reason (the intermediary unavailable) fails the job,
 * and pg-boss retries it with backoff from the unchanged cursor; a
 * refusal (enforcement, no credentials, rejected credentials) is logged
 * and not retried. Returns a stop function.
 */
export async function startInboundWorker(
  deps: InboundQueueDeps,
  options: { batchSize?: number; pollingIntervalSeconds?: number } = {},
): Promise<() => Promise<void>> {
  const id = await deps.boss.work<InboundJob>(
    INBOUND_QUEUE,
    {
      batchSize: options.batchSize ?? 4,
      pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2,
    },
    async (jobs) => {
      await Promise.all(
        jobs.map((job) =>
          runInboundJob(deps, job.data).catch((error: unknown) =>
            deps.boss.fail(INBOUND_QUEUE, job.id, {
              message: error instanceof Error ? error.message : 'failed',
            }),
          ),
        ),
      );
    },
  );
  return async () => {
    await deps.boss.offWork({ id });
  };
}

/** One job: poll, and throw when pg-boss should retry. */
export async function runInboundJob(
  deps: Pick<InboundQueueDeps, 'inbound' | 'logger'>,
  job: InboundJob,
): Promise<PollResult> {
  const result = await deps.inbound.poll({
    companyId: job.companyId,
    kind: job.kind,
    origin: 'worker',
  });
  if (result.error?.retryable) {
    deps.logger.warn({
      event: 'einvoice.inbound_job_retry',
      companyId: job.companyId,
      kind: job.kind,
      code: result.error.code,
    });
    throw result.error;
  }
  return result;
}

/**
 * The scheduled fan-out (a ScheduledJob for the worker process): every
 * `cron`, queue a poll of each inbox. Default every five minutes.
 */
export function inboundPollSchedule(
  deps: Pick<InboundQueueDeps, 'db' | 'boss' | 'accountEnvironment'>,
  cron = '*/5 * * * *',
): { queue: string; cron: string; run: () => Promise<number> } {
  return {
    queue: INBOUND_SCHEDULE_QUEUE,
    cron,
    run: () => enqueueInboundPolls(deps),
  };
}
