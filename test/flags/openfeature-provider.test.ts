import { Writable } from 'node:stream';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { TenantGateFlagProvider } from '../../src/flags/openfeature-provider.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { createLogger } from '../../src/logging/logger.js';
import { insertCompany } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';
const by = { actor: 'ops@example.hr', reason: 'test' };
const NO_ENV: Settings['flags'] = {
  FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
  FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
  FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
  FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
};
const quiet = createLogger(
  'silent',
  new Writable({ write: (_c, _e, done) => done() }),
);

afterAll(async () => {
  await OpenFeature.close();
});

describeEachDatabase('OpenFeature provider', ({ db }) => {
  async function client() {
    const source = await StoreFlagSource.start({
      db: db(),
      logger: quiet,
      environment: 'production',
      envFlags: NO_ENV,
      pollMs: 100,
      record: false,
    });
    const provider = new TenantGateFlagProvider(source, 'production');
    await OpenFeature.setProviderAndWait(provider);
    return { client: OpenFeature.getClient(), source };
  }

  it('evaluates the enforcement flag with the company as targeting key', async () => {
    const [allowed, other] = [
      await insertCompany(db()),
      await insertCompany(db()),
    ];
    await new FlagStore(db()).set({
      flag: ENFORCE,
      environment: 'production',
      enabled: true,
      cohortPercent: 0,
      allowCompanyIds: [allowed.id],
      ...by,
    });
    const { client: c, source } = await client();
    const yes = await c.getBooleanDetails(ENFORCE, false, {
      targetingKey: allowed.id,
    });
    expect(yes).toMatchObject({
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
    });
    expect(
      await c.getBooleanValue(ENFORCE, true, { targetingKey: other.id }),
    ).toBe(false);
    expect(
      await c.getBooleanValue(ENFORCE, true, {
        targetingKey: allowed.id,
        environment: 'staging',
      }),
    ).toBe(false);
    await source.stop();
  });

  it('answers an unknown flag or a non-boolean with the default and an error code', async () => {
    const { client: c, source } = await client();
    const missing = await c.getBooleanDetails('FF_NOPE', true);
    expect(missing).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });
    const text = await c.getStringDetails(ENFORCE, 'x');
    expect(text).toMatchObject({ value: 'x', errorCode: 'TYPE_MISMATCH' });
    await source.stop();
  });

  it('emits a configuration change when the store changes', async () => {
    const { client: c, source } = await client();
    const changed = new Promise<void>((resolve) =>
      c.addHandler(ProviderEvents.ConfigurationChanged, () => resolve()),
    );
    await new FlagStore(db()).set({
      flag: 'FF_INTEGRATION_ACCOUNT_FISCAL',
      environment: 'production',
      enabled: true,
      ...by,
    });
    await changed;
    expect(
      await c.getBooleanValue('FF_INTEGRATION_ACCOUNT_FISCAL', false),
    ).toBe(true);
    await source.stop();
  });
});
