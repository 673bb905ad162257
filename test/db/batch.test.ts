import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { inlineParams, operator, tenant } from '../../src/db/database.js';
import { escapeLiteral } from '../../src/db/postgres.js';
import { describeEachDatabase } from '../support/databases.js';
import { insertCompany } from '../support/builders.js';

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

describe('inlining values into a batch', () => {
  it('quotes strings and spells null, booleans, numbers and JSON', () => {
    const sql = inlineParams(
      {
        sql: 'SELECT $1, $2, $3, $4, $5',
        params: ["it's", null, true, 42, { a: 1 }],
      },
      quote,
    );
    expect(sql).toBe(`SELECT 'it''s', NULL, TRUE, 42, '{"a":1}'`);
  });

  it('quotes literals exactly as node-postgres does', () => {
    const client = new pg.Client();
    for (const text of [
      '',
      "it's",
      "''",
      'back\\slash',
      "O'Brien \\ \\\\ $1 ; -- čćž 😀",
      '<tns:RacunZahtjev Id="a">x &amp; y</tns:RacunZahtjev>',
    ]) {
      expect(escapeLiteral(text)).toBe(client.escapeLiteral(text));
    }
  });

  it('refuses a placeholder without a value', () => {
    expect(() =>
      inlineParams({ sql: 'SELECT $2', params: [1] }, quote),
    ).toThrow(/no value for \$2/);
  });
});

describeEachDatabase('batched transactions', ({ db }) => {
  it('returns each statement’s rows and keeps awkward strings intact', async () => {
    const awkward = "O'Brien \\ backslash $1 ; DROP TABLE x; -- čćž";
    const [first, second] = await db().batch(operator, [
      { sql: 'SELECT $1::text AS v', params: [awkward] },
      { sql: 'SELECT $1::int + 1 AS n', params: [41] },
    ]);
    expect(first).toEqual([{ v: awkward }]);
    expect(second).toEqual([{ n: 42 }]);
  });

  it('applies the tenant scope and its row-level security', async () => {
    const a = await insertCompany(db());
    const b = await insertCompany(db());
    const [rows] = await db().batch(tenant(a.id), [
      {
        sql: 'SELECT id FROM "Company" WHERE id = ANY($1::text[])',
        params: [[a.id, b.id]],
      },
    ]);
    expect(rows).toEqual([{ id: a.id }]);
  });

  it('rolls the whole batch back when one statement fails', async () => {
    const company = await insertCompany(db());
    await expect(
      db().batch(operator, [
        {
          sql: 'UPDATE "Company" SET name = $2 WHERE id = $1',
          params: [company.id, 'Renamed d.o.o.'],
        },
        { sql: 'SELECT 1 / 0' },
      ]),
    ).rejects.toThrow(/division by zero/);
    const [rows] = await db().batch(operator, [
      { sql: 'SELECT name FROM "Company" WHERE id = $1', params: [company.id] },
    ]);
    expect(rows).toEqual([{ name: company.name }]);
  });
});
