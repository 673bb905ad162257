import { expect, it } from 'vitest';
import { operator, owner, type Database } from '../../src/db/database.js';
import { backfill } from '../../src/migration/backfill.js';
import { provision } from '../../src/migration/provision.js';
import { unlinkWrongLinks } from '../../src/migration/unlink.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  accountsOf,
  freshVault,
  insertInvoices,
  invoiceRows,
  legacyCompany,
  silentLogger,
} from './helpers.js';

const vault = freshVault();

/** Links an invoice as the prior system could: foreign keys off. */
async function linkBehindTheKeys(db: Database, id: string, account: string) {
  await db.transaction(owner, async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await tx.query(
      'UPDATE "EInvoice" SET "integrationAccountId" = $2 WHERE id = $1',
      [id, account],
    );
  });
}

async function linkOf(db: Database, id: string): Promise<string | null> {
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{ integrationAccountId: string | null }>(
      'SELECT "integrationAccountId" FROM "EInvoice" WHERE id = $1',
      [id],
    ),
  );
  return rows[0]?.integrationAccountId ?? null;
}

describeEachDatabase('removing the prior system’s wrong links', ({ db }) => {
  const deps = () => ({ db: db(), vault, logger: silentLogger });

  it('reports links to another company’s account, removes them on apply, and the backfill links the right one', async () => {
    const victim = await legacyCompany(db(), vault);
    const owner_ = await legacyCompany(db(), vault);
    await provision(deps(), { apply: true, accountEnvironment: 'TEST' });
    const [victimAccount] = await accountsOf(db(), victim.id);
    const [ownAccount] = await accountsOf(db(), owner_.id);
    const [wrong] = await insertInvoices(db(), owner_.id);
    const [right] = await insertInvoices(db(), owner_.id, {
      accountId: ownAccount?.id,
    });
    await linkBehindTheKeys(db(), wrong as string, victimAccount?.id as string);
    const before = await invoiceRows(db(), [wrong as string]);

    const dry = await unlinkWrongLinks(deps());
    const linkAfterDry = await linkOf(db(), wrong as string);
    const applied = await unlinkWrongLinks(deps(), { apply: true });
    const afterUnlink = await linkOf(db(), wrong as string);
    await backfill(deps(), { apply: true, accountEnvironment: 'TEST' });

    const expected = {
      table: 'EInvoice',
      id: wrong,
      companyId: owner_.id,
      integrationAccountId: victimAccount?.id,
      accountCompanyId: victim.id,
      reason: 'account-of-another-company',
    };
    expect(dry.links).toContainEqual(expect.objectContaining(expected));
    expect(linkAfterDry).toBe(victimAccount?.id);
    expect(applied.links).toContainEqual(expect.objectContaining(expected));
    expect(applied.unlinked).toBe(applied.links.length);
    expect(afterUnlink).toBeNull();
    expect(await linkOf(db(), wrong as string)).toBe(ownAccount?.id);
    expect(await linkOf(db(), right as string)).toBe(ownAccount?.id);
    const after = await invoiceRows(db(), [wrong as string]);
    const { integrationAccountId: _b, ...businessBefore } = (before.get(
      wrong as string,
    ) ?? {}) as Record<string, unknown>;
    const { integrationAccountId: _a, ...businessAfter } = (after.get(
      wrong as string,
    ) ?? {}) as Record<string, unknown>;
    expect(businessAfter).toEqual(businessBefore);
  });

  it('removes a CIS account linked to an e-invoice', async () => {
    const company = await legacyCompany(db(), vault);
    const cisId = `cis_${company.id}`;
    await db().transaction(owner, (tx) =>
      tx.query(
        `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
           environment, status)
         VALUES ($1, $2, 'FISCALIZATION_CIS', 'TEST', 'DISABLED')`,
        [cisId, company.id],
      ),
    );
    const [invoice] = await insertInvoices(db(), company.id, {
      status: 'DRAFT',
      accountId: cisId,
    });

    const report = await unlinkWrongLinks(deps(), { apply: true });

    expect(report.links).toContainEqual(
      expect.objectContaining({ id: invoice, reason: 'account-wrong-kind' }),
    );
    expect(await linkOf(db(), invoice as string)).toBeNull();
  });
});
