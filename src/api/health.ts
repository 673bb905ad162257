import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
} from 'fastify';
import { operator, type Database } from '../db/database.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { problemResponses } from './schemas.js';

/**
 * A readiness check: resolves when the dependency answers, throws (or
 * rejects) when it does not. Its message is logged, never shown.
 */
export type ReadinessCheck = () => Promise<unknown>;

/** What the health routes read. */
export interface HealthState {
  db: Database;
  logger: Logger;
  /** Checks besides the database (a queue, say). Default none. */
  checks?: Record<string, ReadinessCheck>;
  /**
   * True once the process is shutting down: /readyz answers 503 so a
   * load balancer or orchestrator stops sending work while in-flight
   * requests and jobs finish.
   */
  draining(): boolean;
}

/** Each check's outcome, as /readyz reports it. */
export type CheckOutcomes = Record<string, 'ok' | 'failed' | 'draining'>;

const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

async function runChecks(state: HealthState): Promise<CheckOutcomes> {
  const checks: Record<string, ReadinessCheck> = {
    database: () =>
      state.db.transaction(operator, (tx) => tx.query('SELECT 1')),
    ...state.checks,
  };
  const outcomes: CheckOutcomes = {};
  if (state.draining()) outcomes.process = 'draining';
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), DEFAULT_CHECK_TIMEOUT_MS);
        outcomes[name] = 'ok';
      } catch (error) {
        outcomes[name] = 'failed';
        state.logger.warn({
          event: 'health.check_failed',
          check: name,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }),
  );
  return outcomes;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'ready'] },
    checks: {
      type: 'object',
      additionalProperties: { type: 'string', enum: ['ok'] },
    },
  },
  required: ['status'],
} as const;

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness:
 * the database and every configured check answer, and the process is
 * not draining). Both public. A failing readiness is 503 problem+json
 * (SERVICE_UNAVAILABLE) naming the failed checks in `rule`; the
 * failures' messages go to the log only.
 */
export function healthRoutes(
  server: FastifyInstance,
  state: HealthState,
): void {
  const config = { public: true, rateLimit: false };
  server.get(
    '/healthz',
    {
      config,
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: healthSchema },
      },
    },
    async () => ({ status: 'ok' }),
  );
  server.get(
    '/readyz',
    {
      config,
      schema: {
        tags: ['health'],
        summary:
          'Readiness: the database and the process checks answer, not draining (503 otherwise)',
        security: [],
        response: { 200: healthSchema, 503: problemResponses['5xx'] },
      },
    },
    async (request, reply) => {
      const checks = await runChecks(state);
      const failed = Object.entries(checks)
        .filter(([, outcome]) => outcome !== 'ok')
        .map(([name]) => name);
      if (failed.length === 0) return { status: 'ready', checks };
      const error = new TenantGateError(
        'SERVICE_UNAVAILABLE',
        `Not ready: ${failed.join(', ')}`,
        { rule: failed.join(',') },
      );
      return reply
        .code(503)
        .type(PROBLEM_CONTENT_TYPE)
        .send(JSON.stringify({ ...toProblem(error, request.id, 503), checks }));
    },
  );
}

/** Options of a health-only server (for a worker process). */
export interface HealthServerOptions {
  db: Database;
  logger: Logger;
  /** Checks besides the database, e.g. `{ queue: () => ... }`. */
  checks?: Record<string, ReadinessCheck>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
}

/** A running health server and the process's drain switch. */
export interface HealthServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** From now on /readyz answers 503 (`process: draining`). */
  drain(): void;
  close(): Promise<void>;
}

/**
 * `/healthz` and `/readyz` for a process without the API (the pg-boss
 * worker): an orchestrator probes it, and on shutdown the process
 * calls `drain()` first, then stops its queues (in-flight jobs finish
 * or are released for retry), then `close()`.
 */
export async function startHealthServer(
  options: HealthServerOptions,
): Promise<HealthServer> {
  let draining = false;
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  server.decorateRequest('principal', null);
  healthRoutes(server, {
    db: options.db,
    logger: options.logger,
    checks: options.checks,
    draining: () => draining,
  });
  await server.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  options.logger.info({ event: 'health.listening', url });
  return {
    url,
    drain: () => {
      draining = true;
      options.logger.info({ event: 'health.draining' });
    },
    close: () => server.close(),
  };
}
