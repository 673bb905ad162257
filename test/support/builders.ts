import { randomInt, randomUUID } from 'node:crypto';
import { completeOib } from '../../src/companies/oib.js';
import { operator, type Database } from '../../src/db/database.js';

/** A random valid OIB. */
export function randomOib(): string {
  let first10 = '';
  for (let i = 0; i < 10; i++) first10 += String(randomInt(10));
  return completeOib(first10);
}

export interface CompanyRow {
  id: string;
  oib: string;
  name: string;
}

/**
 * Inserts a company directly (operator scope). Defaults: both
 * entitlements off, no legacy credentials.
 */
export async function insertCompany(
  db: Database,
  fields: Record<string, unknown> = {},
): Promise<CompanyRow> {
  const row = {
    id: `co_${randomUUID()}`,
    oib: randomOib(),
    name: 'Test d.o.o.',
    ...fields,
  } as Record<string, unknown>;
  const columns = Object.keys(row);
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "Company" (${columns.map((c) => `"${c}"`).join(', ')})
       VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(row),
    ),
  );
  return row as unknown as CompanyRow;
}
