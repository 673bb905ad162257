import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import { CisClient } from '../fiscal/cis-client.js';
import { FiscalService } from '../fiscal/fiscal-service.js';
import { createFiscalQueue, FISCAL_QUEUE } from '../fiscal/fiscal-worker.js';
import type { ApiApp, FiscalWiring } from './context.js';

/** The API's fiscal wiring and how to release what it opened. */
export interface StartedFiscal {
  wiring: FiscalWiring | undefined;
  /** Readiness checks of what this opened (the queue). */
  checks: Record<string, () => Promise<unknown>>;
  stop(): Promise<void>;
}

/**
 * Fiscalization for the API from the platform's settings, unless the
 * app brings its own (`app.fiscal`): with `TENANTGATE_CIS_URL` (and the
 * enforcement gate) a CIS client and the fiscal service for direct
 * submissions; on PostgreSQL (`DATABASE_URL`) also a pg-boss sender for
 * queued ones, which `tenantgate worker` drains. The API process only
 * sends to the queue; it works no jobs.
 */
export async function startFiscal(app: ApiApp): Promise<StartedFiscal> {
  if (app.fiscal) {
    return { wiring: app.fiscal, checks: {}, stop: async () => {} };
  }
  const cis = app.settings.cis;
  if (!cis?.url || !app.gate) {
    return { wiring: undefined, checks: {}, stop: async () => {} };
  }
  const client = new CisClient({
    url: cis.url,
    ca: cis.caFile ? readFileSync(cis.caFile) : undefined,
  });
  const service = new FiscalService({
    db: app.db,
    gate: app.gate,
    logger: app.logger,
    cis: () => client,
    accountEnvironment: app.settings.accountEnvironment,
  });
  const url = app.settings.databaseUrl;
  if (!url) {
    return {
      wiring: { service },
      checks: {},
      stop: async () => client.close(),
    };
  }
  const boss = new PgBoss({ connectionString: url, max: 2 });
  boss.on('error', (error: Error) =>
    app.logger.error({ event: 'api.queue_error', reason: error.message }),
  );
  await boss.start();
  await createFiscalQueue(boss);
  return {
    wiring: {
      service,
      queue: { db: app.db, boss, fiscal: service, logger: app.logger },
    },
    checks: {
      'fiscal-queue': async () => {
        if (!(await boss.getQueue(FISCAL_QUEUE))) {
          throw new Error(`no queue ${FISCAL_QUEUE}`);
        }
      },
    },
    stop: async () => {
      await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
      client.close();
    },
  };
}
