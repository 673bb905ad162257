import { readFileSync } from 'node:fs';
import type { ApiRoutes } from '../context.js';

const DIR = new URL('../dashboard/', import.meta.url);

const FILES: Record<string, { name: string; type: string }> = {
  '/dashboard': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': {
    name: 'dashboard.js',
    type: 'text/javascript; charset=utf-8',
  },
  '/dashboard/dashboard.css': {
    name: 'dashboard.css',
    type: 'text/css; charset=utf-8',
  },
};

/** Scripts and styles from this server only; no inline code runs. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "connect-src 'self'; img-src 'self' data:; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

/**
 * The operator dashboard: static files read once at start-up (no build
 * step). The page holds no data; its script reads the API with the
 * operator's token.
 */
export const dashboardRoutes: ApiRoutes = (server) => {
  for (const [url, file] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file.name, DIR), 'utf8');
    server.get(
      url,
      {
        config: { public: true, rateLimit: false },
        schema: { hide: true },
      },
      async (_request, reply) =>
        reply
          .type(file.type)
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-cache')
          .send(body),
    );
  }
};
