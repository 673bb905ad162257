import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { operator, owner, type Scope } from '../../src/db/database.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  eInvoiceInsert,
  fiscalRequestInsert,
  seedTenant,
  sqlError,
  syncStateInsert,
  type SeededTenant,
} from './tenant-rows.js';

// DESIGN.md, "Tenant isolation by construction", layer 2: the
// ("companyId", "integrationAccountId") keys make a cross-tenant link
// impossible to store, whoever writes it and whatever RLS says.

const FOREIGN_KEY_VIOLATION = '23503';

type LinkedTable = 'EInvoice' | 'FiscalRequest' | 'ProviderSyncState';

/** Inserts a `table` row for company `a` linked to `accountId`. */
function insertLinked(
  table: LinkedTable,
  a: SeededTenant,
  accountId: string,
): { sql: string; params: unknown[] } {
  const id = `${table}_${randomUUID()}`;
  if (table === 'EInvoice') {
    return { sql: eInvoiceInsert, params: [id, a.companyId, '0', accountId] };
  }
  const sql = table === 'FiscalRequest' ? fiscalRequestInsert : syncStateInsert;
  return { sql, params: [id, a.companyId, accountId] };
}

const LINKED: LinkedTable[] = [
  'EInvoice',
  'FiscalRequest',
  'ProviderSyncState',
];
const SCOPES: [string, Scope][] = [
  ['operator scope', operator],
  ['owner scope (row-level security bypassed)', owner],
];

describeEachDatabase(
  'foreign keys keep accounts within their company',
  ({ db }) => {
    for (const table of LINKED) {
      describe(table, () => {
        for (const [scopeName, scope] of SCOPES) {
          it(`refuses a row of company A linked to company B's account in ${scopeName}`, async () => {
            const a = await seedTenant(db());
            const b = await seedTenant(db());
            const insert = insertLinked(table, a, b.spareAccountId);

            const error = await sqlError(() =>
              db().transaction(scope, (tx) =>
                tx.query(insert.sql, insert.params),
              ),
            );

            expect(error.code).toBe(FOREIGN_KEY_VIOLATION);
            expect(error.message).toContain(`${table}_account_same_company`);
          });
        }

        it("accepts the same row linked to company A's own account", async () => {
          const a = await seedTenant(db());
          const insert = insertLinked(table, a, a.spareAccountId);

          await db().transaction(operator, (tx) =>
            tx.query(insert.sql, insert.params),
          );
        });

        it("refuses moving company A's row onto company B's account", async () => {
          const a = await seedTenant(db());
          const b = await seedTenant(db());
          const id = {
            EInvoice: a.eInvoiceId,
            FiscalRequest: a.fiscalRequestId,
            ProviderSyncState: a.syncStateId,
          }[table];

          const error = await sqlError(() =>
            db().transaction(operator, (tx) =>
              tx.query(
                `UPDATE "${table}" SET "integrationAccountId" = $2 WHERE id = $1`,
                [id, b.spareAccountId],
              ),
            ),
          );

          expect(error.code).toBe(FOREIGN_KEY_VIOLATION);
        });
      });
    }
  },
);
