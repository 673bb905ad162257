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
/** The setting row-level security reads: the tenant's company id. */
export const TENANT_SETTING = 'app.company_id';

/** One statement of a batch: SQL with `$n` placeholders and values. */
export interface Statement {
  sql: string;
  params?: readonly unknown[];
}

/**
 * The one query layer over PGlite and PostgreSQL. Every statement runs
 * in a transaction that states its role first, so no code path can
 * forget to choose one — or, through `single`, is a statement that
 * sets its own tenant and does nothing outside the app role (checked
 * before it is sent).
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
  /**
   * Runs one statement that scopes itself (see `selfScope`) on its own, as its
   * own transaction: no BEGIN, SET LOCAL ROLE or COMMIT around it, so it
   * costs what a bare autocommit statement costs. Undefined when it was
   * not run because the connection's session is not known to be the app
   * role; the caller then uses `batch`. Absent: never run this way.
   */
  single?(
    scope: TenantScope,
    statement: Statement,
  ): Promise<unknown[] | undefined>;
  /** Runs `fn` on one session-level connection as the owner (migrations). */
  withOwnerSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type TenantScope = Extract<Scope, { role: 'tenant' }>;

export function tenant(companyId: string): TenantScope {
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
      { sql: `SELECT set_config('${TENANT_SETTING}', '', true)`, params: [] },
    ];
  }
  return [
    { sql: `SET LOCAL ROLE ${APP_ROLE}`, params: [] },
    {
      sql: `SELECT set_config('${TENANT_SETTING}', $1, true)`,
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

/**
 * SQL for a statement that scopes itself (`Database.single`): `tenant`
 * sets the tenant for that statement alone (transaction-local) and
 * yields the company id, `guard` is true only in the app role.
 *
 * The statement must use `tenant` where its value is needed before any
 * row-level security is checked — as the company id of the row it
 * inserts, which is computed before the policy checks the row — read
 * tables only after that (e.g. in RETURNING), and filter on `guard`, so
 * that a session in another role inserts and returns nothing.
 */
export function selfScope(placeholder: `$${number}`): {
  tenant: string;
  guard: string;
} {
  return {
    tenant: `set_config('${TENANT_SETTING}', ${placeholder}, true)`,
    guard: `current_user = '${APP_ROLE}'`,
  };
}

const SELF_SCOPE = new RegExp(
  `set_config\\('${TENANT_SETTING.replace('.', '\\.')}', \\$(\\d+), true\\)`,
);
const APP_GUARD = selfScope('$1').guard;

/**
 * Refuses a statement given to `Database.single` that does not scope
 * itself to the scope's company and guard on the app role: a
 * programming error, never a runtime condition.
 */
export function assertSelfScoped(
  scope: TenantScope,
  statement: Statement,
): void {
  const setting = SELF_SCOPE.exec(statement.sql);
  const value = setting
    ? statement.params?.[Number(setting[1]) - 1]
    : undefined;
  if (value !== scope.companyId || !statement.sql.includes(APP_GUARD)) {
    throw new Error('a single statement must scope itself to its tenant');
  }
}
