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

/**
 * The one query layer over PGlite and PostgreSQL. Every statement runs
 * in a transaction that states its role first, so no code path can
 * forget to choose one.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(scope: Scope, fn: (tx: Queryable) => Promise<T>): Promise<T>;
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
