import { afterAll, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithLegacyKey,
  eventsOf,
  invoiceFor,
  usePlatform,
  type Platform,
  type Tenant,
} from '../support/platform.js';

const NO_ENV: Settings['flags'] = {
  FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
  FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
  FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
  FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
};

const sources: StoreFlagSource[] = [];
afterAll(async () => {
  for (const s of sources) await s.stop();
});

async function send(p: Platform, gate: EnforcementGate, tenant: Tenant) {
  return gate
    .run(
      {
        companyId: tenant.company.id,
        operation: 'EINVOICE_SEND',
        origin: 'user',
      },
      {
        execute: (route) =>
          p.intermediaries
            .client(route.kind, route.account)
            .send({ ublXml: invoiceFor(tenant) }, route.authoriser),
      },
    )
    .then(
      () => null,
      (error: { name: string }) => error.name,
    );
}

describeEachDatabase('the gate on store-backed flags', ({ db }) => {
  const platform = usePlatform(db);

  it('enforces for the allowed company only, and stops when rolled back', async () => {
    const p = platform();
    const flags = await StoreFlagSource.start({
      db: db(),
      logger: p.logger,
      environment: 'staging',
      envFlags: NO_ENV,
      pollMs: 100,
      record: false,
    });
    sources.push(flags);
    const gate = new EnforcementGate({
      db: db(),
      vault: p.vault,
      flags,
      logger: p.logger,
      deploymentEnvironment: 'staging',
      accountEnvironment: 'TEST',
    });
    const pilot = await companyWithLegacyKey(p);
    const other = await companyWithLegacyKey(p);
    const store = new FlagStore(db());
    const enforce = {
      flag: 'FF_ENFORCE_INTEGRATION_ACCOUNT',
      environment: 'staging',
      actor: 'ops@example.hr',
    };
    await store.set({
      ...enforce,
      enabled: true,
      cohortPercent: 0,
      allowCompanyIds: [pilot.company.id],
      reason: 'pilot',
    });
    await flags.refresh();

    expect(await send(p, gate, pilot)).toBe('IntegrationRequiredError');
    expect(await send(p, gate, other)).toBeNull();
    const [otherEvent] = await eventsOf(p, other.company.id);
    expect(otherEvent).toMatchObject({ path: 'V1', wouldBlock: true });

    await store.set({ ...enforce, enabled: false, reason: 'rollback' });
    await flags.refresh();
    expect(await send(p, gate, pilot)).toBeNull();
  });
});
