import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  APP_ROLE,
  assertSelfScoped,
  inlineParams,
  scopeStatements,
  type Statement,
  type Database,
  type Queryable,
  type Scope,
  type TenantScope,
} from './database.js';

// numeric and bigint come back as strings: exact, never floats.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

function wrap(client: pg.ClientBase): Queryable {
  return {
    async exec(sql: string) {
      await client.query(sql);
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
  };
}

/**
 * PostgreSQL through node-postgres. The URL's user owns the schema;
 * every pooled connection switches to the app role as it opens, so the
 * service itself is neither superuser nor table owner.
 */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  /** Connections whose session is known to be the app role. */
  private readonly appSessions = new WeakSet<pg.ClientBase>();

  constructor(url: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
    // An idle connection the server closed must not crash the process;
    // the pool replaces it on the next checkout.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => {
      client.query(`SET ROLE ${APP_ROLE}`).then(
        () => this.appSessions.add(client),
        () => {
          // Before the first migration the role does not exist yet; each
          // transaction states its role anyway.
        },
      );
    });
  }

  async transaction<T>(
    scope: Scope,
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(prelude(scope));
      const result = await fn(wrap(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async batch(
    scope: Scope,
    statements: readonly Statement[],
  ): Promise<unknown[][]> {
    const client = await this.pool.connect();
    const body = statements.map((s) => inlineParams(s, escapeLiteral));
    const text = [prelude(scope), ...body, 'COMMIT'].join(';\n');
    try {
      const results = (await client.query(text)) as unknown as
        pg.QueryResult[] | pg.QueryResult;
      const all = Array.isArray(results) ? results : [results];
      // BEGIN, the scope's statements, then ours, then COMMIT.
      const skip = all.length - statements.length - 1;
      return all.slice(skip, skip + statements.length).map((r) => r.rows);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * One statement in autocommit on a connection whose session is the
   * app role (set as the connection opened): one round trip. It is a
   * named prepared statement, parsed and planned once per connection
   * (about a third of its cost otherwise); PostgreSQL plans it again by
   * itself when the schema or the role changes.
   */
  async single(
    scope: TenantScope,
    statement: Statement,
  ): Promise<unknown[] | undefined> {
    assertSelfScoped(scope, statement);
    const client = await this.pool.connect();
    try {
      if (!this.appSessions.has(client)) return undefined;
      const result = await client.query({
        name: preparedName(statement.sql),
        text: statement.sql,
        values: (statement.params ?? []) as unknown[],
      });
      return result.rows;
    } finally {
      client.release();
    }
  }

  async withOwnerSession<T>(fn: (session: Queryable) => Promise<T>) {
    const client = await this.pool.connect();
    this.appSessions.delete(client);
    try {
      await client.query('RESET ROLE');
      return await fn(wrap(client));
    } finally {
      await client.query(`SET ROLE ${APP_ROLE}`).then(
        () => this.appSessions.add(client),
        () => undefined,
      );
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * BEGIN and the scope's statements as one simple-protocol round trip.
 * The only value, the company id, is quoted as the driver's own
 * escapeLiteral quotes it.
 */
function prelude(scope: Scope): string {
  const statements = scopeStatements(scope).map((s) =>
    s.params.length === 0
      ? s.sql
      : s.sql.replace('$1', escapeLiteral(String(s.params[0]))),
  );
  return ['BEGIN', ...statements].join('; ');
}

/**
 * node-postgres's `escapeLiteral`, the same text for every input (quotes
 * doubled; with a backslash, backslashes doubled and the ` E'…'` form)
 * without its character-by-character loop: the batched statements carry
 * whole signed XML documents.
 */
export function escapeLiteral(text: string): string {
  const quoted = text.replaceAll("'", "''");
  return text.includes('\\')
    ? ` E'${quoted.replaceAll('\\', '\\\\')}'`
    : `'${quoted}'`;
}

const preparedNames = new Map<string, string>();

/** A prepared statement's name: the same for the same text. */
function preparedName(sql: string): string {
  let name = preparedNames.get(sql);
  if (name === undefined) {
    name = `tg_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    if (preparedNames.size >= 100) preparedNames.clear();
    preparedNames.set(sql, name);
  }
  return name;
}
