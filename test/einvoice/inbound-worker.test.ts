import PgBoss from 'pg-boss';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { createEposlovanjeClient } from '../../src/einvoice/eposlovanje-client.js';
import { InboundService } from '../../src/einvoice/inbound-service.js';
import {
  createInboundQueue,
  enqueueInboundPolls,
  inboxesToPoll,
  startInboundWorker,
} from '../../src/einvoice/inbound-worker.js';
import { pgBossDb } from '../../src/fiscal/pg-boss-db.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import {
  companyWithAccount,
  companyWithLegacyKey,
  sampleFor,
  type Platform,
  type Tenant,
  usePlatform,
} from '../support/platform.js';

async function until<T>(
  check: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function inject(p: Platform, tenant: Tenant, count: number) {
  for (let i = 1; i <= count; i++) {
    p.simulator.injectIncoming({
      receiverOib: tenant.company.oib,
      xml: sampleFor('eRacun_PDV25.xml', randomOib()).replace(
        '<cbc:ID>1-P1-1</cbc:ID>',
        `<cbc:ID>W-${i}</cbc:ID>`,
      ),
    });
  }
}

async function inboundCount(p: Platform, tenant: Tenant): Promise<number> {
  const [row] = await p.db.transaction(operator, (tx) =>
    tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "EInvoice"
        WHERE "companyId" = $1 AND direction = 'INBOUND'`,
      [tenant.company.id],
    ),
  );
  return row?.n ?? 0;
}

/**
 * PostgreSQL: pg-boss with its own pool, as the worker process runs it.
 * PGlite: pg-boss through `pgBossDb` on the same connection.
 */
describeEachDatabase('inbound polling on pg-boss', ({ db, backend }) => {
  const platform = usePlatform(db);
  let boss: PgBoss;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const p = platform();
    if (backend === 'postgres') {
      const [name] = await p.db.transaction(operator, (tx) =>
        tx.query<{ db: string }>('SELECT current_database() AS db'),
      );
      boss = new PgBoss({
        connectionString: withDatabase(
          process.env.TEST_DATABASE_URL as string,
          name?.db ?? '',
        ),
        max: 4,
      });
    } else {
      boss = new PgBoss({ db: pgBossDb(p.db) });
    }
    await boss.start();
    await createInboundQueue(boss, { retryLimit: 3, retryDelay: 1 });
    const client = createEposlovanjeClient({
      baseUrl: p.simulator.url,
      softwareId: 'TenantGate-test',
      timeoutMs: 5_000,
      pageSize: 2,
    });
    const inbound = new InboundService({
      db: p.db,
      gate: p.gate,
      intermediaries: { client: () => client },
      logger: p.logger,
    });
    stop = await startInboundWorker(
      {
        db: p.db,
        boss,
        inbound,
        logger: p.logger,
        accountEnvironment: 'TEST',
      },
      { pollingIntervalSeconds: 0.5 },
    );
  });

  afterAll(async () => {
    await stop?.();
    await boss?.stop({ graceful: false, wait: true, timeout: 5_000 });
  });

  it('polls every inbox, V1 and V2, and retries a failed page from the cursor', async () => {
    const p = platform();
    const v2 = await companyWithAccount(p);
    const v1 = await companyWithLegacyKey(p);
    inject(p, v2, 5);
    inject(p, v1, 3);
    // One inbox's second page fails once; its job is retried.
    p.simulator.injectFault({
      kind: 'status',
      status: 503,
      route: 'incoming',
      skip: 1,
    });

    const inboxes = await inboxesToPoll(p.db, 'TEST');
    const queued = await enqueueInboundPolls({
      db: p.db,
      boss,
      accountEnvironment: 'TEST',
    });

    expect(inboxes).toEqual(
      expect.arrayContaining([
        { companyId: v2.company.id, kind: 'EINVOICE_EPOSLOVANJE' },
        { companyId: v1.company.id, kind: 'EINVOICE_EPOSLOVANJE' },
      ]),
    );
    expect(queued).toBe(inboxes.length);
    await until(async () =>
      (await inboundCount(p, v2)) === 5 && (await inboundCount(p, v1)) === 3
        ? true
        : undefined,
    );
    expect(p.logs.withEvent('einvoice.inbound_job_retry')).toHaveLength(1);
    // Nothing more arrives on another round: no duplicates.
    await enqueueInboundPolls({ db: p.db, boss, accountEnvironment: 'TEST' });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await inboundCount(p, v2)).toBe(5);
    expect(await inboundCount(p, v1)).toBe(3);
  }, 60_000);
});
