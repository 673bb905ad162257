import { describe, expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { createIntermediaryDirectory } from '../../src/einvoice/directory.js';
import { OutboundService } from '../../src/einvoice/outbound.js';
import { SendReconciler } from '../../src/einvoice/reconcile.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  documentsFrom,
  eventsOf,
  invoiceFor,
  type Platform,
  type Tenant,
  usePlatform,
} from '../support/platform.js';

async function rejection(promise: Promise<unknown>): Promise<TenantGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantGateError);
  return error as TenantGateError;
}

/** The send path with short retry delays, over the test platform. */
function outboundOf(p: Platform, timeoutMs?: number): OutboundService {
  const intermediaries =
    timeoutMs === undefined
      ? p.intermediaries
      : createIntermediaryDirectory({
          softwareId: 'TenantGate-test',
          timeoutMs,
          accountEnvironment: 'TEST',
          endpoints: { EINVOICE_EPOSLOVANJE: p.simulator.url },
        });
  return new OutboundService({
    db: p.db,
    gate: p.gate,
    intermediaries,
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 3_000 },
  });
}

function reconcilerOf(p: Platform, graceMs = 0): SendReconciler {
  return new SendReconciler({
    db: p.db,
    gate: p.gate,
    intermediaries: p.intermediaries,
    outbound: outboundOf(p),
    graceMs,
  });
}

function send(p: Platform, tenant: Tenant, timeoutMs?: number) {
  return outboundOf(p, timeoutMs).send({
    companyId: tenant.company.id,
    ublXml: invoiceFor(tenant),
  });
}

/** Issued rows without the intermediary's id: there must be none. */
async function issuedWithoutRef(p: Platform, tenant: Tenant) {
  return p.db.transaction(operator, (tx) =>
    tx.query(
      `SELECT id FROM "EInvoice" WHERE "companyId" = $1
          AND status IN ('SENT', 'DELIVERED', 'ACCEPTED', 'REJECTED')
          AND "providerRef" IS NULL`,
      [tenant.company.id],
    ),
  );
}

describeEachDatabase('idempotent sending', ({ db }) => {
  const platform = usePlatform(db, { timeoutMs: 5_000 });

  describe('retries', () => {
    it('waits as long as a 429 asks, then sends once', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'status', status: 429, retryAfter: 1 });

      const started = Date.now();
      const sent = await send(p, tenant);

      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(sent.invoice.status).toBe('SENT');
      expect(documentsFrom(p, tenant)).toHaveLength(1);
      // One regulated operation, one event, whatever the retries.
      expect(await eventsOf(p, tenant.company.id)).toHaveLength(1);
    });

    it('gives up at once when Retry-After is longer than it may wait', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'status', status: 429, retryAfter: 60 });

      const error = await rejection(send(p, tenant));

      expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(error.details).toMatchObject({
        attempts: 1,
        retryAfterMs: 60_000,
      });
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('retries a 500 and a 503 with backoff and delivers once', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'status', status: 500, route: 'send' });
      p.simulator.injectFault({ kind: 'status', status: 503, route: 'send' });

      const sent = await send(p, tenant);

      expect(sent.invoice.status).toBe('SENT');
      expect(sent.invoice.providerRef).toBe(documentsFrom(p, tenant)[0]?.id);
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });

    it('stops after the last attempt and leaves the row ERROR, retryable', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({
        kind: 'status',
        status: 503,
        times: 3,
        route: 'send',
      });

      const error = await rejection(send(p, tenant));

      expect(error.details.attempts).toBe(3);
      const row = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      expect(row.status).toBe('ERROR');
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('does not resend after a gateway error if the service stored it', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      // The service stores the document; the gateway answers 502.
      p.simulator.injectFault({ kind: 'gateway-error', status: 502 });

      const sent = await send(p, tenant);

      const delivered = documentsFrom(p, tenant);
      expect(delivered).toHaveLength(1);
      expect(sent.invoice).toMatchObject({
        status: 'SENT',
        providerRef: delivered[0]?.id,
      });
    });
  });

  describe('unknown outcomes are reconciled from the outgoing listing', () => {
    it('finds a document whose reply was lost and never sends it again', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-reply' });
      const error = await rejection(send(p, tenant));
      const invoiceId = String(error.details.eInvoiceId);

      const resubmitted = await send(p, tenant);
      const results = await reconcilerOf(p).reconcileCompany(tenant.company.id);
      const afterwards = await send(p, tenant);

      expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
      expect(resubmitted).toMatchObject({
        duplicate: true,
        invoice: { status: 'SEND_UNKNOWN' },
      });
      const delivered = documentsFrom(p, tenant);
      expect(delivered).toHaveLength(1);
      expect(results).toEqual([
        expect.objectContaining({
          invoiceId,
          outcome: 'FOUND',
          providerRef: delivered[0]?.id,
        }),
      ]);
      expect(afterwards).toMatchObject({
        duplicate: true,
        invoice: {
          id: invoiceId,
          status: 'SENT',
          providerRef: delivered[0]?.id,
        },
      });
      expect(await issuedWithoutRef(p, tenant)).toEqual([]);
    });

    it('checks a named account when the stored document is not sent again', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      const other = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-reply' });
      await rejection(send(p, tenant));
      const again = (accountId: string) =>
        outboundOf(p).send({
          companyId: tenant.company.id,
          ublXml: invoiceFor(tenant),
          accountId,
        });

      const unknown = await rejection(again('ia_nosuch'));
      const others = await rejection(again(String(other.account?.id)));
      const own = await again(String(tenant.account?.id));

      expect(unknown.code).toBe('ACCOUNT_NOT_FOUND');
      expect(unknown.message).toContain('ia_nosuch');
      expect(others.code).toBe('TENANT_VIOLATION');
      expect(own).toMatchObject({
        duplicate: true,
        invoice: { status: 'SEND_UNKNOWN' },
      });
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });

    it('finds a document accepted after the client timed out', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'latency', ms: 2_000 });
      const error = await rejection(send(p, tenant, 1_000));
      // Let the simulator finish storing it.
      while (documentsFrom(p, tenant).length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      const [result] = await reconcilerOf(p).reconcileCompany(
        tenant.company.id,
      );

      expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
      expect(result?.outcome).toBe('FOUND');
      expect(documentsFrom(p, tenant)).toHaveLength(1);
    });

    it('resends, once, a document the listing proves was never received', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-request' });
      const error = await rejection(send(p, tenant));
      expect(documentsFrom(p, tenant)).toHaveLength(0);

      const results = await reconcilerOf(p).reconcileCompany(tenant.company.id);
      const again = await reconcilerOf(p).reconcileCompany(tenant.company.id);

      expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');
      const delivered = documentsFrom(p, tenant);
      expect(delivered).toHaveLength(1);
      expect(results).toEqual([
        expect.objectContaining({
          outcome: 'RESENT',
          providerRef: delivered[0]?.id,
        }),
      ]);
      expect(again).toEqual([]);
      const row = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      expect(row).toMatchObject({ status: 'SENT', lastError: null });
    });

    it('waits out the grace period before believing "not listed"', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-request' });
      await rejection(send(p, tenant));

      const results = await reconcilerOf(p, 60_000).reconcileCompany(
        tenant.company.id,
      );

      expect(results).toEqual([
        expect.objectContaining({ outcome: 'WAITING' }),
      ]);
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('resends nothing when the listing cannot be read', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-request' });
      const error = await rejection(send(p, tenant));
      p.simulator.injectFault({
        kind: 'status',
        status: 503,
        route: 'outgoing',
      });

      const results = await reconcilerOf(p).reconcileCompany(tenant.company.id);

      expect(results).toEqual([
        expect.objectContaining({
          outcome: 'FAILED',
          error: expect.objectContaining({ code: 'COUNTERPART_UNAVAILABLE' }),
        }),
      ]);
      const row = await p.outbound.find(
        tenant.company.id,
        String(error.details.eInvoiceId),
      );
      expect(row.status).toBe('SEND_UNKNOWN');
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('looks up through the gate, as part of the send, with its account', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'drop-reply' });
      const error = await rejection(send(p, tenant));

      await reconcilerOf(p).reconcileCompany(tenant.company.id);

      const events = await eventsOf(p, tenant.company.id);
      expect(events).toEqual([
        expect.objectContaining({ outcome: 'FAILURE' }),
        expect.objectContaining({
          operation: 'EINVOICE_SEND',
          outcome: 'SUCCESS',
          origin: 'worker',
          path: 'V2',
          integrationAccountId: tenant.account?.id,
          documentId: error.details.eInvoiceId,
        }),
      ]);
    });
  });
});
