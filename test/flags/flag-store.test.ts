import { expect, it } from 'vitest';
import { owner, tenant, type Database } from '../../src/db/database.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { insertCompany } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';

const OUTBOUND = 'FF_INTEGRATION_ACCOUNT_OUTBOUND';
const INBOUND = 'FF_INTEGRATION_ACCOUNT_INBOUND';
const FISCAL = 'FF_INTEGRATION_ACCOUNT_FISCAL';
const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';
const by = { actor: 'ops@example.hr', reason: 'test' };

async function recordEnv(
  db: Database,
  environment: 'staging' | 'production',
  flag: string,
  value: boolean,
) {
  await new FlagStore(db).recordProcess({
    environment,
    processId: `test:${Math.random()}`,
    host: 'test',
    pid: 1,
    cause: 'start',
    values: {
      FF_INTEGRATION_ACCOUNT_OUTBOUND: { value: false, source: 'default' },
      FF_INTEGRATION_ACCOUNT_INBOUND: { value: false, source: 'default' },
      FF_INTEGRATION_ACCOUNT_FISCAL: { value: false, source: 'default' },
      FF_ENFORCE_INTEGRATION_ACCOUNT: { value: false, source: 'default' },
      [flag]: { value, source: 'env' },
    },
  });
}

describeEachDatabase('flag store', ({ db }) => {
  const store = () => new FlagStore(db());

  it('stores a value per flag and environment', async () => {
    await store().set({
      flag: OUTBOUND,
      environment: 'staging',
      enabled: true,
      ...by,
    });
    const rows = await store().list('staging');
    const row = rows.find((r) => r.flag === OUTBOUND && !r.companyId);
    expect(row).toMatchObject({ enabled: true, updatedBy: by.actor });
    const prod = await store().list('production');
    expect(prod.find((r) => r.flag === OUTBOUND)).toBeUndefined();
  });

  it('appends every change with actor, reason, old and new', async () => {
    const s = store();
    await s.set({
      flag: INBOUND,
      environment: 'staging',
      enabled: true,
      ...by,
    });
    await s.set({
      flag: INBOUND,
      environment: 'staging',
      enabled: false,
      actor: 'oncall@example.hr',
      reason: 'rollback: error rate',
    });
    const [last, first] = await s.history({
      flag: INBOUND,
      environment: 'staging',
    });
    expect(first).toMatchObject({
      actor: by.actor,
      reason: 'test',
      oldValue: null,
      newValue: { enabled: true },
    });
    expect(last).toMatchObject({
      actor: 'oncall@example.hr',
      reason: 'rollback: error rate',
      oldValue: { enabled: true },
      newValue: { enabled: false },
    });
    expect(last?.at.getTime()).toBeGreaterThanOrEqual(
      first?.at.getTime() ?? Infinity,
    );
  });

  it('refuses a change without a reason, naming the field', async () => {
    await expect(
      store().set({
        flag: OUTBOUND,
        environment: 'staging',
        enabled: true,
        actor: 'ops',
        reason: '  ',
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      details: { field: 'reason', rule: 'required' },
    });
  });

  it('refuses an unknown flag, an unknown environment and cohorts on other flags', async () => {
    const base = { enabled: true, ...by };
    await expect(
      store().set({ ...base, flag: 'FF_NOPE', environment: 'staging' }),
    ).rejects.toMatchObject({ details: { field: 'flag' } });
    await expect(
      store().set({ ...base, flag: OUTBOUND, environment: 'prod' }),
    ).rejects.toMatchObject({ details: { field: 'environment' } });
    await expect(
      store().set({
        ...base,
        flag: OUTBOUND,
        environment: 'staging',
        cohortPercent: 10,
      }),
    ).rejects.toMatchObject({ details: { rule: 'enforcement-flag-only' } });
    await expect(
      store().set({
        ...base,
        flag: ENFORCE,
        environment: 'staging',
        cohortPercent: 101,
      }),
    ).rejects.toMatchObject({ details: { field: 'cohortPercent' } });
  });

  it('keeps a company override apart from the environment value', async () => {
    const company = await insertCompany(db());
    await store().set({
      flag: ENFORCE,
      environment: 'production',
      companyId: company.id,
      enabled: true,
      ...by,
    });
    const snapshot = await store().snapshot();
    const entry = snapshot.get(`production/${ENFORCE}`);
    expect(entry?.environmentWide).toBeNull();
    expect(entry?.overrides.get(company.id)?.enabled).toBe(true);
  });

  it('refuses an override for a company that does not exist', async () => {
    await expect(
      store().set({
        flag: ENFORCE,
        environment: 'production',
        companyId: 'co_missing',
        enabled: true,
        ...by,
      }),
    ).rejects.toMatchObject({
      code: 'COMPANY_NOT_FOUND',
      details: { field: 'companyId', rule: 'existing-company' },
    });
  });

  it('refuses an allow or deny list naming a company that does not exist', async () => {
    const company = await insertCompany(db());
    const refusal = (list: 'allowCompanyIds' | 'denyCompanyIds') =>
      store()
        .set({
          flag: ENFORCE,
          environment: 'production',
          enabled: false,
          [list]: [company.id, 'co_nosuch'],
          ...by,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );

    const [allow, deny] = [
      await refusal('allowCompanyIds'),
      await refusal('denyCompanyIds'),
    ];

    expect(allow).toMatchObject({
      code: 'COMPANY_NOT_FOUND',
      message: 'allowCompanyIds: no company co_nosuch',
      details: { field: 'allowCompanyIds', companyId: 'co_nosuch' },
    });
    expect(deny).toMatchObject({
      code: 'COMPANY_NOT_FOUND',
      details: { field: 'denyCompanyIds', companyId: 'co_nosuch' },
    });
    const entry = (await store().snapshot()).get(`production/${ENFORCE}`);
    expect(entry?.environmentWide ?? null).toBeNull();
  });

  it('clearing a value records the change and leaves no row', async () => {
    const s = store();
    await s.set({
      flag: FISCAL,
      environment: 'production',
      enabled: true,
      ...by,
    });
    await s.clear({ flag: FISCAL, environment: 'production', ...by });
    const rows = await s.list('production');
    expect(rows.find((r) => r.flag === FISCAL)).toBeUndefined();
    const [last] = await s.history({ flag: FISCAL, environment: 'production' });
    expect(last).toMatchObject({ oldValue: { enabled: true }, newValue: null });
  });

  it('history cannot be rewritten, even by the owner', async () => {
    await store().set({
      flag: OUTBOUND,
      environment: 'staging',
      enabled: true,
      ...by,
    });
    await expect(
      db().transaction(owner, (tx) =>
        tx.query(`UPDATE "FlagChange" SET reason = 'rewritten'`),
      ),
    ).rejects.toThrow(/append-only/);
    await expect(
      db().transaction(owner, (tx) => tx.query(`DELETE FROM "FlagChange"`)),
    ).rejects.toThrow(/append-only/);
  });

  it('the app role can read flags but not change them', async () => {
    const company = await insertCompany(db());
    const rows = await db().transaction(tenant(company.id), (tx) =>
      tx.query('SELECT count(*) AS n FROM "Flag"'),
    );
    expect(rows).toHaveLength(1);
    await expect(
      db().transaction(tenant(company.id), (tx) =>
        tx.query(
          `INSERT INTO "Flag" (flag, environment, enabled, "updatedBy")
           VALUES ('FF_INTEGRATION_ACCOUNT_FISCAL', 'staging', true, 'x')`,
        ),
      ),
    ).rejects.toThrow(/permission denied/);
  });
});

describeEachDatabase('continuously on since', ({ db }) => {
  it('is null while never on, and the time it was switched on after', async () => {
    const s = new FlagStore(db());
    expect(await s.onSince(ENFORCE, 'staging')).toBeNull();
    const on = await s.set({
      flag: ENFORCE,
      environment: 'staging',
      enabled: true,
      ...by,
    });
    expect(await s.onSince(ENFORCE, 'staging')).toEqual(on.at);
  });

  it('restarts the clock after an off/on gap', async () => {
    const s = new FlagStore(db());
    const first = { flag: OUTBOUND, environment: 'production', ...by };
    await s.set({ ...first, enabled: true });
    await s.set({ ...first, enabled: false });
    expect(await s.onSince(OUTBOUND, 'production')).toBeNull();
    const again = await s.set({ ...first, enabled: true });
    await s.set({ ...first, enabled: true, reason: 'still on' });
    expect(await s.onSince(OUTBOUND, 'production')).toEqual(again.at);
  });

  it('a partial cohort is not "on"; reaching 100% starts the clock', async () => {
    const s = new FlagStore(db());
    const t = { flag: ENFORCE, environment: 'production', ...by };
    await s.set({ ...t, enabled: true, cohortPercent: 10 });
    expect(await s.onSince(ENFORCE, 'production')).toBeNull();
    const full = await s.set({ ...t, enabled: true, cohortPercent: 100 });
    expect(await s.onSince(ENFORCE, 'production')).toEqual(full.at);
  });

  it('a process that ran with the flag off restarts the clock', async () => {
    const s = new FlagStore(db());
    await s.set({
      flag: INBOUND,
      environment: 'production',
      enabled: true,
      ...by,
    });
    await recordEnv(db(), 'production', INBOUND, false);
    expect(await s.onSince(INBOUND, 'production')).toBeNull();
    await recordEnv(db(), 'production', INBOUND, true);
    const [record] = await s.processRecords('production', 1);
    expect(await s.onSince(INBOUND, 'production')).toEqual(record?.at);
  });

  it('counts env-driven deployments from what processes recorded', async () => {
    const s = new FlagStore(db());
    await recordEnv(db(), 'staging', FISCAL, true);
    const [record] = await s.processRecords('staging', 1);
    expect(await s.onSince(FISCAL, 'staging')).toEqual(record?.at);
  });
});
