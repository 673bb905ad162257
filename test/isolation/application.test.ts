import { expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithBoth,
  documentsFrom,
  ENFORCED,
  eventsOf,
  invoiceFor,
  LEGACY_WORLD,
  MIGRATING,
  setFlags,
  usePlatform,
  type Platform,
  type Tenant,
} from '../support/platform.js';

// DESIGN.md, "Tenant isolation by construction", layer 1: the gate
// refuses another company's account itself, before row-level security
// or foreign keys are asked anything. No fallback, no retry.

async function rejection(promise: Promise<unknown>): Promise<TenantGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantGateError);
  return error as TenantGateError;
}

describeEachDatabase('application layer: the gate', ({ db }) => {
  const platform = usePlatform(db);

  /** Runs a send for `a` through the gate, naming `accountId`. */
  function runNaming(p: Platform, a: Tenant, accountId: string) {
    let executed = false;
    const run = p.gate.run(
      {
        companyId: a.company.id,
        operation: 'EINVOICE_SEND',
        accountId,
        origin: 'user',
      },
      {
        execute: async (route) => {
          executed = true;
          return p.intermediaries
            .client(route.kind, route.account)
            .send({ ublXml: invoiceFor(a) }, route.authoriser);
        },
      },
    );
    return { run, executed: () => executed };
  }

  const MODES = { enforcement: ENFORCED, migration: MIGRATING };
  const ALL_MODES = { ...MODES, 'the legacy world': LEGACY_WORLD };

  for (const [mode, flags] of Object.entries(ALL_MODES)) {
    it(`throws TenantViolationError when company A names company B's account under ${mode}`, async () => {
      const p = platform();
      setFlags(p, flags);
      const a = await companyWithBoth(p);
      const b = await companyWithAccount(p);

      const attempt = runNaming(p, a, String(b.account?.id));
      const error = await rejection(attempt.run);

      expect(error).toMatchObject({
        code: 'TENANT_VIOLATION',
        name: 'TenantViolationError',
        severity: 'P0',
        retryable: false,
      });
      expect(error.details).toMatchObject({
        companyId: a.company.id,
        integrationAccountId: b.account?.id,
      });
      expect(attempt.executed()).toBe(false);
      expect(documentsFrom(p, a)).toHaveLength(0);
      expect(documentsFrom(p, b)).toHaveLength(0);
    });
  }

  it('writes one BLOCKED event for company A and none for company B', async () => {
    const p = platform();
    const a = await companyWithBoth(p);
    const b = await companyWithAccount(p);

    await rejection(runNaming(p, a, String(b.account?.id)).run);

    expect(await eventsOf(p, a.company.id)).toEqual([
      expect.objectContaining({
        outcome: 'BLOCKED',
        path: null,
        errorName: 'TenantViolationError',
        integrationAccountId: b.account?.id,
      }),
    ]);
    expect(await eventsOf(p, b.company.id)).toEqual([]);
  });

  it("does not fall back to company A's own credentials", async () => {
    const p = platform();
    const a = await companyWithBoth(p);
    const b = await companyWithAccount(p);

    await rejection(runNaming(p, a, String(b.account?.id)).run);

    const events = await eventsOf(p, a.company.id);
    expect(events.map((e) => e.path)).toEqual([null]);
    expect(documentsFrom(p, a)).toHaveLength(0);
  });

  it("leaves company B's account untouched", async () => {
    const p = platform();
    const a = await companyWithBoth(p);
    const b = await companyWithAccount(p);

    await rejection(runNaming(p, a, String(b.account?.id)).run);

    const account = await p.accounts.show(b.company.id, String(b.account?.id));
    expect(account.lastUsedAt).toBeNull();
  });

  it("refuses an e-invoice send naming company B's account and keeps the row as ERROR", async () => {
    const p = platform();
    setFlags(p, ENFORCED);
    const a = await companyWithBoth(p);
    const b = await companyWithAccount(p);

    const error = await rejection(
      p.outbound.send({
        companyId: a.company.id,
        ublXml: invoiceFor(a),
        accountId: b.account?.id,
      }),
    );

    expect(error.code).toBe('TENANT_VIOLATION');
    const eInvoiceId = String(error.details.eInvoiceId);
    const row = await p.outbound.find(a.company.id, eInvoiceId);
    expect(row).toMatchObject({
      status: 'ERROR',
      integrationAccountId: null,
      providerRef: null,
      lastError: expect.objectContaining({ code: 'TENANT_VIOLATION' }),
    });
    expect(documentsFrom(p, a)).toHaveLength(0);
  });

  it('tells another company’s account from one that does not exist', async () => {
    const p = platform();
    const a = await companyWithBoth(p);

    const error = await rejection(
      runNaming(p, a, 'ia_00000000-0000-0000-0000-000000000000').run,
    );

    expect(error.code).toBe('INTEGRATION_NOT_FOUND');
  });
});
