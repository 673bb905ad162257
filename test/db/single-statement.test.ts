import { expect, it } from 'vitest';
import { APP_ROLE, operator, tenant } from '../../src/db/database.js';
import { singleEventInsert } from '../../src/enforcement/attempt-statements.js';
import type { OperationEvent } from '../../src/events/operation-event.js';
import { insertAccount } from '../support/audit-builders.js';
import { insertCompany } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';

function eventOf(
  companyId: string,
  integrationAccountId: string | null = null,
): OperationEvent {
  return {
    environment: 'staging',
    companyId,
    integrationAccountId,
    operation: 'EINVOICE_SEND',
    kind: 'EINVOICE_EPOSLOVANJE',
    path: 'V2',
    outcome: 'SUCCESS',
    wouldBlock: false,
    fallback: false,
    errorName: null,
    errorCode: null,
    errorLayer: null,
    durationMs: 3,
    origin: 'probe',
    actor: null,
    correlationId: 'corr-single',
    documentId: null,
  };
}

describeEachDatabase('a self-scoped single statement', ({ db }) => {
  async function eventsSeenBy(companyId: string) {
    const [rows] = await db().batch(tenant(companyId), [
      {
        sql: `SELECT "companyId", "durationMs", "wouldBlock"
                FROM "OperationEvent"`,
      },
    ]);
    return rows;
  }

  it('inserts one event visible to its tenant alone', async () => {
    const a = await insertCompany(db());
    const b = await insertCompany(db());

    const rows = await db().single?.(
      tenant(a.id),
      singleEventInsert(eventOf(a.id), { checkAccount: false }),
    );

    expect(rows).toEqual([{ inserted: true }]);
    expect(await eventsSeenBy(a.id)).toEqual([
      { companyId: a.id, durationMs: 3, wouldBlock: false },
    ]);
    expect(await eventsSeenBy(b.id)).toEqual([]);
  });

  it('runs as the app role, which is neither superuser nor bypasses RLS', async () => {
    const a = await insertCompany(db());
    const rows = await db().single?.(tenant(a.id), {
      sql: `SELECT set_config('app.company_id', $1, true) AS tenant,
              current_user AS role, r.rolsuper OR r.rolbypassrls AS unchecked
              FROM pg_roles r
             WHERE r.rolname = current_user AND current_user = '${APP_ROLE}'`,
      params: [a.id],
    });
    expect(rows).toEqual([{ tenant: a.id, role: APP_ROLE, unchecked: false }]);
  });

  it('tells whether the account is still the company’s and ACTIVE', async () => {
    const a = await insertCompany(db());
    const b = await insertCompany(db());
    const kind = 'EINVOICE_EPOSLOVANJE' as const;
    const active = await insertAccount(db(), { companyId: a.id, kind });
    const disabled = await insertAccount(db(), {
      companyId: a.id,
      kind,
      environment: 'PROD',
      status: 'DISABLED',
    });
    const others = await insertAccount(db(), { companyId: b.id, kind });

    const check = async (accountId: string) =>
      db().single?.(
        tenant(a.id),
        singleEventInsert(eventOf(a.id, accountId), { checkAccount: true }),
      );

    expect(await check(active.id)).toEqual([{ accountActive: true }]);
    expect(await check(disabled.id)).toEqual([{ accountActive: false }]);
    expect(await check(others.id)).toEqual([{ accountActive: false }]);
    // Each attempt is recorded, whatever the check said.
    expect(await eventsSeenBy(a.id)).toHaveLength(3);
    expect(await eventsSeenBy(b.id)).toEqual([]);
  });

  it('inserts nothing in any role but the app role', async () => {
    const a = await insertCompany(db());
    const statement = singleEventInsert(eventOf(a.id), {
      checkAccount: false,
    });

    const asOwner = await db().withOwnerSession((session) =>
      session.query(statement.sql, statement.params),
    );
    const asOperator = await db().transaction(operator, (tx) =>
      tx.query(statement.sql, statement.params),
    );

    expect(asOwner).toEqual([]);
    expect(asOperator).toEqual([]);
    expect(await eventsSeenBy(a.id)).toEqual([]);
  });

  it('refuses a statement that does not scope itself to the tenant', async () => {
    const a = await insertCompany(db());
    const b = await insertCompany(db());
    const other = singleEventInsert(eventOf(b.id), { checkAccount: false });

    await expect(
      db().single?.(tenant(a.id), { sql: 'SELECT 1', params: [] }),
    ).rejects.toThrow(/scope itself/);
    await expect(db().single?.(tenant(a.id), other)).rejects.toThrow(
      /scope itself/,
    );
    expect(await eventsSeenBy(b.id)).toEqual([]);
  });
});
