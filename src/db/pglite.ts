import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import {
  APP_ROLE,
  assertSelfScoped,
  scopeStatements,
  type Database,
  type Queryable,
  type Scope,
  type Statement,
  type TenantScope,
} from './database.js';

function wrap(target: {
  query: PGlite['query'];
  exec: PGlite['exec'];
}): Queryable {
  return {
    async exec(sql: string) {
      await target.exec(sql);
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await target.query<T>(sql, params as unknown[]);
      return result.rows;
    },
  };
}

/**
 * Embedded PostgreSQL. Its only user is a superuser, so the instance
 * switches to the app role once the schema exists; each transaction
 * states its own role anyway.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;

  /** The session was left as the app role by `dropPrivileges`. */
  private appSession = false;

  private constructor(readonly pg: PGlite) {}

  /** `dataDir` is a folder, or `memory://` for a throw-away database. */
  static async open(
    dataDir: string,
    options: { loadDataDir?: Blob } = {},
  ): Promise<PgliteDatabase> {
    if (!dataDir.startsWith('memory://')) {
      mkdirSync(dataDir, { recursive: true });
    }
    const pg = await PGlite.create({
      dataDir,
      loadDataDir: options.loadDataDir,
    });
    return new PgliteDatabase(pg);
  }

  async transaction<T>(
    scope: Scope,
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    return this.pg.transaction(async (tx) => {
      for (const s of scopeStatements(scope)) {
        await tx.query(s.sql, s.params);
      }
      return fn(wrap(tx));
    });
  }

  async batch(
    scope: Scope,
    statements: readonly Statement[],
  ): Promise<unknown[][]> {
    return this.transaction(scope, async (tx) => {
      const results: unknown[][] = [];
      for (const s of statements) results.push(await tx.query(s.sql, s.params));
      return results;
    });
  }

  /**
   * One statement outside any transaction, when the session was left as
   * the app role (queries wait for a running transaction to end).
   */
  async single(
    scope: TenantScope,
    statement: Statement,
  ): Promise<unknown[] | undefined> {
    assertSelfScoped(scope, statement);
    if (!this.appSession) return undefined;
    const result = await this.pg.query(
      statement.sql,
      (statement.params ?? []) as unknown[],
    );
    return result.rows;
  }

  async withOwnerSession<T>(fn: (session: Queryable) => Promise<T>) {
    this.appSession = false;
    await this.pg.query('RESET ROLE');
    try {
      return await fn(wrap(this.pg));
    } finally {
      await this.dropPrivileges();
    }
  }

  /** Leaves the session as the app role: the default for stray queries. */
  async dropPrivileges(): Promise<void> {
    const roles = await this.pg.query(
      'SELECT 1 FROM pg_roles WHERE rolname = $1',
      [APP_ROLE],
    );
    if (roles.rows.length > 0) {
      await this.pg.query(`SET ROLE ${APP_ROLE}`);
      this.appSession = true;
    }
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}
