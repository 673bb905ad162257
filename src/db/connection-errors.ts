import { TenantGateError } from '../errors/tenantgate-error.js';

/**
 * Why a connection could not be made, by node-postgres error code:
 * socket errors from the network, SQLSTATEs from the server.
 */
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there (connection refused)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name did not resolve',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the server closed the connection',
  '3D000': 'the database does not exist',
  '28P01': 'the login was refused (password authentication failed)',
  '28000': 'the login was refused (not authorised)',
  '57P03': 'the server is starting up or shutting down',
};

/** The error's code, or the first inner error's (a dual-stack connect). */
function codeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  return Array.isArray(e?.errors) ? codeOf(e.errors[0]) : undefined;
}

/** Host, port, database and user of a URL: never its password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    const user = u.username ? `user ${decodeURIComponent(u.username)}, ` : '';
    return (
      `${u.hostname || 'localhost'}:${u.port || '5432'} ` +
      `(${user}database ${database || '(default)'})`
    );
  } catch {
    return '(an unparsable URL)';
  }
}

/**
 * DATABASE_UNAVAILABLE naming the setting or option the URL came from,
 * its host and database (never its password) and the reason, for an
 * error that means the database cannot be reached or entered;
 * undefined for any other error.
 */
export function databaseUnavailable(
  error: unknown,
  url: string,
  setting: string,
): TenantGateError | undefined {
  const code = codeOf(error);
  const reason = code === undefined ? undefined : REASONS[code];
  if (reason === undefined) return undefined;
  return new TenantGateError(
    'DATABASE_UNAVAILABLE',
    `${setting}: cannot open PostgreSQL at ${describeDatabaseUrl(url)}: ` +
      reason,
    { field: setting, rule: 'reachable-database', reason: code },
    { cause: error },
  );
}
