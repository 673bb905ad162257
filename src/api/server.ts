import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Settings } from '../config/settings.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { ApiKeyService } from './api-keys.js';
import { authHook } from './auth.js';
import { apiContext, type ApiApp, type ApiContext } from './context.js';
import { startFiscal } from './fiscal-wiring.js';
import { healthRoutes, type ReadinessCheck } from './health.js';
import { classify, PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { API_ROUTES } from './routes/index.js';
import { problemSchema } from './schemas.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** From now on /readyz answers 503 (the process is shutting down). */
    drain(): void;
  }
}

/** Options of the HTTP API server. */
export interface ApiServerOptions {
  /** Largest request body, in bytes. Default 2 MiB (UBL documents). */
  bodyLimit?: number;
  /** Requests one API key may make per window. Default 600. */
  rateLimitMax?: number;
  /** The rate limit window, in ms. Default 60 000. */
  rateLimitWindowMs?: number;
  /**
   * Readiness checks besides the database (a queue, a counterpart),
   * by name. Default none.
   */
  readiness?: Record<string, ReadinessCheck>;
  /** Extra route modules (features built later). Default none. */
  routes?: readonly ((server: FastifyInstance, ctx: ApiContext) => void)[];
}

const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

/**
 * The HTTP API over the wired services. Errors become
 * `application/problem+json` in one place; every log line of a request
 * carries its id (`reqId`, from `X-Request-Id` or generated); every
 * route but health and the OpenAPI document needs a bearer token.
 */
export async function createApiServer(
  app: ApiApp,
  options: ApiServerOptions = {},
): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.logger as FastifyBaseLogger,
    // api.request.completed below replaces Fastify's prose request logs.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'reqId',
    }),
    requestIdHeader: 'x-request-id',
    genReqId: () => `req_${randomUUID()}`,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false } },
  });
  const keys = new ApiKeyService({ db: app.db, logger: app.logger });
  const fiscal = await startFiscal(app);
  server.addHook('onClose', async () => fiscal.stop());
  const ctx = apiContext({ ...app, fiscal: fiscal.wiring }, keys);

  server.decorateRequest('principal', null);
  server.setErrorHandler(sendProblem);
  server.setNotFoundHandler((request, reply) =>
    sendProblem(
      new TenantGateError(
        'ROUTE_NOT_FOUND',
        `No route ${request.method} ${request.url}`,
      ),
      request,
      reply,
    ),
  );
  server.addHook('onRequest', authHook(keys));
  server.addHook('onResponse', async (request, reply) => {
    request.log.info({
      event: 'api.request.completed',
      method: request.method,
      route: request.routeOptions.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
    });
  });
  // On close, requests in flight finish; their keep-alive connections
  // then close instead of holding shutdown until the idle timeout, and
  // /readyz says draining.
  let closing = false;
  server.decorate('drain', () => {
    closing = true;
  });
  server.addHook('preClose', async () => {
    closing = true;
  });
  server.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });

  await server.register(swagger, openApiOptions());
  await server.register(rateLimit, {
    max: options.rateLimitMax ?? 600,
    timeWindow: options.rateLimitWindowMs ?? 60_000,
    keyGenerator: (request) => request.principal?.keyId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new TenantGateError(
        'RATE_LIMITED',
        `Rate limit: ${context.max} requests per ${context.after}`,
        { retryAfterMs: context.ttl },
      ),
  });

  healthRoutes(server, {
    db: app.db,
    logger: app.logger,
    checks: { ...fiscal.checks, ...options.readiness },
    draining: () => closing,
  });
  documentRoutes(server);
  for (const routes of [...API_ROUTES, ...(options.routes ?? [])]) {
    await server.register(async (scope) => routes(scope, ctx));
  }
  return server;
}

/** Listen and limit options from the settings (`TENANTGATE_API_*`). */
export function apiOptionsFrom(settings: Pick<Settings, 'api'>): StartOptions {
  return {
    host: settings.api.host,
    port: settings.api.port,
    rateLimitMax: settings.api.rateLimitPerMinute,
    rateLimitWindowMs: 60_000,
    bodyLimit: settings.api.bodyLimitBytes,
  };
}

/** Server options and where to listen. */
export interface StartOptions extends ApiServerOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** Where a started server listens, and how to stop it. */
export interface RunningApi {
  server: FastifyInstance;
  /** `http://127.0.0.1:3000`. */
  url: string;
  /**
   * Drains, then stops accepting connections and waits for requests in
   * flight. `drainMs` (default 0): how long /readyz answers 503 before
   * the listener closes, for a load balancer to notice.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Builds the server and listens. Defaults: host 127.0.0.1, port 3000
 * (0 picks a free port).
 */
export async function startApi(
  app: ApiApp,
  options: StartOptions = {},
): Promise<RunningApi> {
  const server = await createApiServer(app, options);
  await server.listen({
    port: options.port ?? 3000,
    host: options.host ?? '127.0.0.1',
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  app.logger.info({ event: 'api.listening', url });
  return {
    server,
    url,
    close: async ({ drainMs = 0 } = {}) => {
      server.drain();
      app.logger.info({ event: 'api.draining', drainMs });
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      await server.close();
    },
  };
}

/** The one place an error becomes a response. */
async function sendProblem(
  thrown: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  statusOverride?: number,
): Promise<FastifyReply> {
  const { error, status: classified } = classify(thrown);
  const status = statusOverride ?? classified;
  const problem = toProblem(error, request.id, status);
  const level = status >= 500 ? 'error' : 'info';
  request.log[level]({
    event: 'api.request.failed',
    code: error.code,
    status,
    field: error.details.field,
    rule: error.details.rule,
    err: status >= 500 ? thrown : undefined,
  });
  const retryAfterMs = error.details.retryAfterMs;
  if (typeof retryAfterMs === 'number') {
    reply.header('retry-after', Math.ceil(retryAfterMs / 1000));
  }
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem));
}

function documentRoutes(server: FastifyInstance): void {
  server.get(
    '/openapi.json',
    { config: { public: true, rateLimit: false }, schema: { hide: true } },
    async () => server.swagger(),
  );
}

function openApiOptions() {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TenantGate API',
        version: '1',
        description:
          'Tenant-scoped e-invoicing and integration accounts. Errors are ' +
          'application/problem+json with the stable codes of ' +
          'docs/error-codes.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http' as const, scheme: 'bearer' },
        },
        schemas: { Problem: problemSchema as Record<string, unknown> },
      },
      security: [{ bearer: [] }],
    },
  };
}
