import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/api/api-keys.js';
import { startApi } from '../../src/api/server.js';
import { operator } from '../../src/db/database.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  invoiceFor,
  MIGRATING,
  setFlags,
  usePlatform,
} from '../support/platform.js';
import { apiAppOf, call } from './api-fixture.js';

describeEachDatabase('HTTP API shutdown', ({ db }) => {
  const platform = usePlatform(db);

  /** Waits until the send has claimed its row: it is in flight. */
  async function claimed(companyId: string): Promise<void> {
    for (;;) {
      const rows = await platform().db.transaction(operator, (tx) =>
        tx.query('SELECT 1 FROM "EInvoice" WHERE "companyId" = $1', [
          companyId,
        ]),
      );
      if (rows.length > 0) return;
      await sleep(20);
    }
  }

  describe('graceful close', () => {
    it('drains (/readyz 503), finishes a send in flight, then refuses new connections', async () => {
      const p = platform();
      setFlags(p, MIGRATING);
      const tenant = await companyWithAccount(p);
      const keys = new ApiKeyService({ db: p.db, logger: p.logger });
      const { token } = await keys.create({
        kind: 'tenant',
        companyId: tenant.company.id,
      });
      const api = await startApi(apiAppOf(p), { port: 0 });
      p.simulator.injectFault({ kind: 'latency', ms: 1_000 });

      const inFlight = call(api.url, 'POST', '/v1/einvoices', {
        token,
        body: { ublXml: invoiceFor(tenant) },
      });
      await claimed(tenant.company.id);
      const closing = api.close({ drainMs: 300 });
      const draining = await call(api.url, 'GET', '/readyz');
      expect(draining.status).toBe(503);
      expect(draining.body.checks.process).toBe('draining');
      await closing;

      const answer = await inFlight;
      expect(answer.status).toBe(201);
      expect(answer.body.invoice.status).toBe('SENT');
      await expect(call(api.url, 'GET', '/healthz')).rejects.toThrow();
    });
  });
});
