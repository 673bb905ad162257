import { describe, expect, it } from 'vitest';
import type { AccountStatus } from '../../src/accounts/kinds.js';
import { operator } from '../../src/db/database.js';
import type { SendResult } from '../../src/einvoice/intermediary.js';
import type { OperationRequest } from '../../src/enforcement/gate.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  addAccount,
  addLegacyKey,
  buildPlatform,
  companyWithAccount,
  companyWithBoth,
  companyWithLegacyKey,
  companyWithNothing,
  documentsFrom,
  ENFORCED,
  eventsOf,
  invoiceFor,
  LEGACY_WORLD,
  MIGRATING,
  setFlags,
  usePlatform,
  type Platform,
  type StoredEvent,
  type Tenant,
} from '../support/platform.js';

type Outcome =
  { ok: true; value: SendResult } | { ok: false; error: TenantGateError };

/** Sends the tenant's invoice through the gate and the real client. */
async function sendThroughGate(
  p: Platform,
  tenant: Tenant,
  request: Partial<OperationRequest> = {},
): Promise<Outcome> {
  try {
    const value = await p.gate.run(
      {
        companyId: tenant.company.id,
        operation: 'EINVOICE_SEND',
        origin: 'user',
        ...request,
      },
      {
        execute: (route) =>
          p.intermediaries
            .client(route.kind, route.account)
            .send({ ublXml: invoiceFor(tenant) }, route.authoriser),
      },
    );
    return { ok: true, value };
  } catch (error) {
    expect(error).toBeInstanceOf(TenantGateError);
    return { ok: false, error: error as TenantGateError };
  }
}

/** Runs one attempt and returns the single event it wrote. */
async function attempt(
  p: Platform,
  tenant: Tenant,
  request: Partial<OperationRequest> = {},
): Promise<{ outcome: Outcome; event: StoredEvent }> {
  const before = await eventsOf(p, tenant.company.id);
  const outcome = await sendThroughGate(p, tenant, request);
  const after = await eventsOf(p, tenant.company.id);
  expect(after).toHaveLength(before.length + 1);
  return { outcome, event: after.at(-1) as StoredEvent };
}

const INACTIVE: AccountStatus[] = ['DISABLED', 'EXPIRED', 'REVOKED'];

describeEachDatabase('enforcement gate', ({ db }) => {
  const platform = usePlatform(db);

  /** The event of a V2 success through `tenant`'s account. */
  function v2Success(tenant: Tenant): Partial<StoredEvent> {
    return {
      environment: 'staging',
      companyId: tenant.company.id,
      integrationAccountId: tenant.account?.id,
      operation: 'EINVOICE_SEND',
      kind: 'EINVOICE_EPOSLOVANJE',
      path: 'V2',
      outcome: 'SUCCESS',
      wouldBlock: false,
      fallback: false,
      errorName: null,
      origin: 'user',
    };
  }

  function blocked(
    errorName: string,
    integrationAccountId: string | null,
  ): Partial<StoredEvent> {
    return {
      path: null,
      outcome: 'BLOCKED',
      wouldBlock: false,
      fallback: false,
      errorName,
      integrationAccountId,
    };
  }

  describe('rule 2: enforcement on', () => {
    it('sends through an ACTIVE account on V2 and records one SUCCESS', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithBoth(p);

      const { outcome, event } = await attempt(p, tenant);

      expect(outcome.ok).toBe(true);
      expect(event).toMatchObject(v2Success(tenant));
      const sent = documentsFrom(p, tenant);
      expect(sent).toHaveLength(1);
      expect(outcome.ok && outcome.value.providerRef).toBe(sent[0]?.id);
    });

    for (const status of INACTIVE) {
      it(`blocks a ${status} account with IntegrationDisabledError and sends nothing`, async () => {
        const p = platform();
        setFlags(p, ENFORCED);
        const tenant = await companyWithBoth(p, { status });

        const { outcome, event } = await attempt(p, tenant);

        expect(!outcome.ok && outcome.error.code).toBe('INTEGRATION_DISABLED');
        expect(event).toMatchObject(
          blocked('IntegrationDisabledError', tenant.account?.id ?? null),
        );
        expect(documentsFrom(p, tenant)).toHaveLength(0);
      });
    }

    it('blocks a company with only legacy credentials with IntegrationRequiredError', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithLegacyKey(p);

      const { outcome, event } = await attempt(p, tenant);

      expect(!outcome.ok && outcome.error.severity).toBe('P0');
      expect(event).toMatchObject(blocked('IntegrationRequiredError', null));
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });
  });

  describe('rule 3: enforcement off, migration flag on', () => {
    it('sends through an ACTIVE account on V2 although legacy credentials exist', async () => {
      const p = platform();
      setFlags(p, MIGRATING);
      const tenant = await companyWithBoth(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(v2Success(tenant));
    });

    it('blocks a DISABLED account and never falls back to the legacy key', async () => {
      const p = platform();
      setFlags(p, MIGRATING);
      const tenant = await companyWithBoth(p, { status: 'DISABLED' });

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(
        blocked('IntegrationDisabledError', tenant.account?.id ?? null),
      );
      expect(documentsFrom(p, tenant)).toHaveLength(0);
    });

    it('falls back to the legacy key on V1, recorded as fallback and would-block', async () => {
      const p = platform();
      setFlags(p, MIGRATING);
      const tenant = await companyWithLegacyKey(p);

      const { outcome, event } = await attempt(p, tenant);

      expect(outcome.ok).toBe(true);
      expect(event).toMatchObject({
        path: 'V1',
        outcome: 'SUCCESS',
        wouldBlock: true,
        fallback: true,
        integrationAccountId: null,
        errorName: null,
      });
      expect(documentsFrom(p, tenant)).toHaveLength(1);
      const warning = p.logs.withEvent('enforcement.would_block');
      expect(warning).toEqual([
        expect.objectContaining({
          companyId: tenant.company.id,
          integrationAccountId: null,
          path: 'V1',
        }),
      ]);
    });

    it('blocks a company with no credentials with IntegrationNotFoundError', async () => {
      const p = platform();
      setFlags(p, MIGRATING);
      const tenant = await companyWithNothing(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(blocked('IntegrationNotFoundError', null));
    });
  });

  describe('rule 4: the legacy world', () => {
    it('sends with the legacy key on V1, not would-block, when an ACTIVE account exists', async () => {
      const p = platform();
      setFlags(p, LEGACY_WORLD);
      const tenant = await companyWithBoth(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject({
        path: 'V1',
        outcome: 'SUCCESS',
        wouldBlock: false,
        fallback: false,
        integrationAccountId: null,
      });
    });

    it('sends with the legacy key on V1, would-block, when no account exists', async () => {
      const p = platform();
      const tenant = await companyWithLegacyKey(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject({
        path: 'V1',
        outcome: 'SUCCESS',
        wouldBlock: true,
        fallback: false,
      });
    });

    it('sends through an ACTIVE account on V2 when there is no legacy key', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(v2Success(tenant));
    });

    it('blocks a company whose only account is DISABLED', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p, { status: 'DISABLED' });

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(
        blocked('IntegrationDisabledError', tenant.account?.id ?? null),
      );
    });

    it('blocks a company with nothing with IntegrationNotFoundError', async () => {
      const p = platform();
      const tenant = await companyWithNothing(p);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(blocked('IntegrationNotFoundError', null));
    });
  });

  describe('rule 1: another company’s account', () => {
    it('blocks an account of another company named by the caller', async () => {
      const p = platform();
      const a = await companyWithLegacyKey(p);
      const b = await companyWithAccount(p);

      const { outcome, event } = await attempt(p, a, {
        accountId: b.account?.id,
      });

      expect(!outcome.ok && outcome.error.name).toBe('TenantViolationError');
      expect(event).toMatchObject(
        blocked('TenantViolationError', b.account?.id ?? null),
      );
      expect(documentsFrom(p, a)).toHaveLength(0);
      expect(documentsFrom(p, b)).toHaveLength(0);
    });
  });

  describe('one operation event per attempt', () => {
    it('records a counterpart outage as a FAILURE on the route it took', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'status', status: 503 });

      const { outcome, event } = await attempt(p, tenant);

      expect(!outcome.ok && outcome.error.code).toBe('COUNTERPART_UNAVAILABLE');
      expect(event).toMatchObject({
        ...v2Success(tenant),
        outcome: 'FAILURE',
        errorName: 'CounterpartUnavailableError',
        errorCode: 'COUNTERPART_UNAVAILABLE',
      });
    });

    it('records credentials the counterpart refuses as a FAILURE', async () => {
      const p = platform();
      const tenant = await companyWithLegacyKey(p);
      p.simulator.revokeKey(tenant.legacyKey as string);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject({
        path: 'V1',
        outcome: 'FAILURE',
        errorName: 'CounterpartAuthError',
        integrationAccountId: null,
      });
    });

    it('records the origin and the document of the attempt', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);

      const { event } = await attempt(p, tenant, {
        origin: 'probe',
        documentId: 'ei_probe_1',
      });

      expect(event).toMatchObject({
        origin: 'probe',
        documentId: 'ei_probe_1',
      });
    });

    it('records the deployment environment the gate runs in', async () => {
      const base = platform();
      const production = buildPlatform(base.db, base.simulator, {
        deploymentEnvironment: 'production',
      });
      const tenant = await companyWithAccount(production);

      const { event } = await attempt(production, tenant);

      expect(event).toMatchObject({
        ...v2Success(tenant),
        environment: 'production',
      });
    });

    it('records a company that does not exist as BLOCKED', async () => {
      const p = platform();
      const ghost = await companyWithNothing(p);
      const missing: Tenant = {
        ...ghost,
        company: { ...ghost.company, id: `${ghost.company.id}-missing` },
      };

      const { outcome, event } = await attempt(p, missing);

      expect(!outcome.ok && outcome.error.code).toBe('COMPANY_NOT_FOUND');
      expect(event.outcome).toBe('BLOCKED');
    });
  });

  describe('vault failures', () => {
    /** Copies `from`'s sealed secret onto `to`'s account row. */
    async function misplaceEnvelope(p: Platform, from: Tenant, to: Tenant) {
      await p.db.transaction(operator, (tx) =>
        tx.query(
          `UPDATE "IntegrationAccount" SET "secretEnvelope" =
             (SELECT "secretEnvelope" FROM "IntegrationAccount" WHERE id = $1)
            WHERE id = $2`,
          [from.account?.id, to.account?.id],
        ),
      );
    }

    it('fails with VaultSecretUnreadableError before any network call', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const donor = await companyWithAccount(p);
      const tenant = await companyWithAccount(p);
      await misplaceEnvelope(p, donor, tenant);
      const documentsBefore = p.simulator.documents().length;

      const { outcome, event } = await attempt(p, tenant);

      expect(!outcome.ok && outcome.error.code).toBe('VAULT_SECRET_UNREADABLE');
      expect(event).toMatchObject({
        outcome: 'FAILURE',
        errorName: 'VaultSecretUnreadableError',
        errorCode: 'VAULT_SECRET_UNREADABLE',
      });
      expect(p.simulator.documents()).toHaveLength(documentsBefore);
    });

    it('names the account and the V2 path of a secret that does not open', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const donor = await companyWithAccount(p);
      const tenant = await companyWithAccount(p);
      await misplaceEnvelope(p, donor, tenant);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject({
        outcome: 'FAILURE',
        path: 'V2',
        integrationAccountId: tenant.account?.id,
      });
    });

    it('logs a secret that does not open as a failure of its account', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const donor = await companyWithAccount(p);
      const tenant = await companyWithAccount(p);
      await misplaceEnvelope(p, donor, tenant);

      await attempt(p, tenant);

      expect(p.logs.withEvent('operation.failed')).toEqual([
        expect.objectContaining({
          companyId: tenant.company.id,
          integrationAccountId: tenant.account?.id,
          code: 'VAULT_SECRET_UNREADABLE',
        }),
      ]);
    });
  });

  describe('logs of regulated operations', () => {
    const REGULATED = [
      'operation.succeeded',
      'operation.failed',
      'enforcement.blocked',
      'enforcement.would_block',
    ];

    it('carry companyId and integrationAccountId on every line of a V2 send', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);

      await attempt(p, tenant);

      const lines = p.logs.withEvent(...REGULATED);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line).toMatchObject({
          companyId: tenant.company.id,
          integrationAccountId: tenant.account?.id,
        });
      }
    });

    it('carry both ids on refusals and V1 lines as well', async () => {
      const p = platform();
      const legacy = await companyWithLegacyKey(p);
      const disabled = await companyWithAccount(p, { status: 'DISABLED' });

      await attempt(p, legacy);
      await attempt(p, disabled);

      const lines = p.logs.withEvent(...REGULATED);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) {
        expect(line).toHaveProperty('companyId');
        expect(line).toHaveProperty('integrationAccountId');
      }
      expect(p.logs.withEvent('enforcement.blocked')).toEqual([
        expect.objectContaining({
          companyId: disabled.company.id,
          integrationAccountId: disabled.account?.id,
        }),
      ]);
    });

    it('never contain an API key, whatever the outcome', async () => {
      const p = platform();
      const tenant = await addLegacyKey(p, await companyWithAccount(p));
      setFlags(p, MIGRATING);
      await attempt(p, tenant);
      p.simulator.injectFault({ kind: 'status', status: 500 });
      await attempt(p, tenant);
      p.simulator.revokeKey(tenant.accountKey as string);
      await attempt(p, tenant);
      setFlags(p, LEGACY_WORLD);
      await attempt(p, tenant);

      const text = p.logs.text();
      expect(text).toContain(tenant.company.id);
      expect(text).not.toContain(tenant.accountKey);
      expect(text).not.toContain(tenant.legacyKey);
    });
  });

  describe('account bookkeeping', () => {
    it('sets lastUsedAt after a V2 success', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      const account = tenant.account;
      expect(account?.lastUsedAt).toBeNull();

      await attempt(p, tenant);

      const used = await p.accounts.show(
        tenant.company.id,
        String(account?.id),
      );
      expect(used.lastUsedAt).toBeInstanceOf(Date);
    });

    it('leaves lastUsedAt unset after a V2 failure', async () => {
      const p = platform();
      const tenant = await companyWithAccount(p);
      p.simulator.injectFault({ kind: 'status', status: 502 });

      await attempt(p, tenant);

      const account = await p.accounts.show(
        tenant.company.id,
        String(tenant.account?.id),
      );
      expect(account.lastUsedAt).toBeNull();
    });
  });

  describe('refusals name the company', () => {
    it('blocks a company without a default intermediary with IntegrationNotFoundError', async () => {
      const p = platform();
      const tenant = await companyWithNothing(p, { eInvoiceKind: null });

      const { outcome, event } = await attempt(p, tenant);

      expect(!outcome.ok && outcome.error.code).toBe('INTEGRATION_NOT_FOUND');
      expect(event).toMatchObject(blocked('IntegrationNotFoundError', null));
    });

    it('names the company that has no default intermediary', async () => {
      const p = platform();
      const tenant = await companyWithNothing(p, { eInvoiceKind: null });

      const { outcome } = await attempt(p, tenant);

      expect(!outcome.ok && outcome.error.details.companyId).toBe(
        tenant.company.id,
      );
    });
  });

  describe('companies imported with only a legacy provider', () => {
    it('sends through its ACTIVE account once enforcement is on', async () => {
      const p = platform();
      setFlags(p, ENFORCED);
      const legacy = await companyWithLegacyKey(p, { eInvoiceKind: null });
      const tenant = await addAccount(p, legacy);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject(v2Success(tenant));
    });

    it('does not count its V1 sends as would-block', async () => {
      const p = platform();
      const legacy = await companyWithLegacyKey(p, { eInvoiceKind: null });
      const tenant = await addAccount(p, legacy);

      const { event } = await attempt(p, tenant);

      expect(event).toMatchObject({ path: 'V1', wouldBlock: false });
    });
  });
});
