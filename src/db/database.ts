/** One SQL statement runner: a transaction or a connection. */
export interface Queryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<T[]>;
  /** Runs a script of several statements without parameters. */
  exec(sql: string): Promise<void>;
}

/**
 * Who a transaction runs as.
 * - `tenant`: the app role, row-level security on, one company visible.
 * - `operator`: the operator role, every company visible (audits,
 *   rollups, administration).
 * - `owner`: the database owner (migrations, adopting a database).
 */
export type Scope =
  | { role: 'tenant'; companyId: string }
  | { role: 'operator' }
  | { role: 'owner' };

export const APP_ROLE = 'tenantgate_app';
export const OPERATOR_ROLE = 'tenantgate_operator';

/** One statement of a batch: SQL with `$n` placeholders and values. */
export interface Statement {
  sql: string;
  params?: readonly unknown[];
}

/**
 * The one query layer over PGlite and PostgreSQL. Every statement runs
 * in a transaction that states its role first, so no code path can
 * forget to choose one.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(scope: Scope, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs statements in one transaction in the scope and returns each
   * one's rows. On PostgreSQL the whole transaction is one round trip:
   * the hot path of the gate uses it.
   */
  batch(scope: Scope, statements: readonly Statement[]): Promise<unknown[][]>;
  /** Runs `fn` on one session-level connection as the owner (migrations). */
  withOwnerSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function tenant(companyId: string): Scope {
  return { role: 'tenant', companyId };
}

export const operator: Scope = { role: 'operator' };
export const owner: Scope = { role: 'owner' };

/** The statements that open a transaction in a scope. */
export function scopeStatements(scope: Scope): {
  sql: string;
  params: unknown[];
}[] {
  if (scope.role === 'owner') {
    return [{ sql: 'SET LOCAL ROLE NONE', params: [] }];
  }
  if (scope.role === 'operator') {
    return [
      { sql: `SET LOCAL ROLE ${OPERATOR_ROLE}`, params: [] },
      { sql: "SELECT set_config('app.company_id', '', true)", params: [] },
    ];
  }
  return [
    { sql: `SET LOCAL ROLE ${APP_ROLE}`, params: [] },
    {
      sql: "SELECT set_config('app.company_id', $1, true)",
      params: [scope.companyId],
    },
  ];
}

/**
 * A value as an SQL literal, for batches sent without parameters.
 * Strings are quoted by the driver's escapeLiteral; anything but null,
 * booleans, finite numbers, strings and plain JSON objects is refused.
 */
export function sqlLiteral(
  value: unknown,
  escapeLiteral: (text: string) => string,
): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('non-finite number in SQL');
    return String(value);
  }
  if (typeof value === 'string') return escapeLiteral(value);
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (Array.isArray(value)) {
    return `ARRAY[${value.map((v) => sqlLiteral(v, escapeLiteral)).join(', ')}]`;
  }
  return escapeLiteral(JSON.stringify(value));
}

/**
 * Inlines `$n` placeholders as literals. Only for TenantGate's own
 * statements, which never contain `$` elsewhere (no dollar quoting).
 */
export function inlineParams(
  statement: Statement,
  escapeLiteral: (text: string) => string,
): string {
  const params = statement.params ?? [];
  return statement.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index >= params.length) {
      throw new Error(`statement has no value for $${n}`);
    }
    return sqlLiteral(params[index], escapeLiteral);
  });
}
