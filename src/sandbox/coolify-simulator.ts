import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the simulator received (never the token). */
export interface CoolifyRequest {
  method: string;
  path: string;
  at: number;
  body: unknown;
}

/** A fake Coolify API over loopback, as PROTOCOLS.md describes it. */
export interface CoolifySimulator {
  /** Base URL without `/api/v1`. */
  url: string;
  requests: CoolifyRequest[];
  /** The environment variables of an application. */
  envs(appUuid: string): Record<string, string>;
  close(): Promise<void>;
}

export interface CoolifySimulatorOptions {
  /** The bearer token it accepts. */
  token: string;
  /** Applications it knows. */
  appUuids: string[];
  /** Status polls a deployment answers before `finished`. Default 2. */
  pollsUntilFinished?: number;
  /** Final status of deployments. Default `finished`. */
  outcome?: 'finished' | 'failed';
}

/**
 * Starts the simulator on 127.0.0.1 and a free port. Answers 405 to GET
 * on restart (recent Coolify versions do), upserts variables on PATCH,
 * and moves deployments from queued to in_progress to the outcome.
 */
export async function startCoolifySimulator(
  options: CoolifySimulatorOptions,
): Promise<CoolifySimulator> {
  const envs = new Map<string, Map<string, string>>(
    options.appUuids.map((id) => [id, new Map()]),
  );
  const deployments = new Map<string, number>();
  const requests: CoolifyRequest[] = [];
  const polls = options.pollsUntilFinished ?? 2;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => send(res, 500, { message: 'error' }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readJson(req);
    requests.push({ method: req.method ?? '', path, at: Date.now(), body });
    if (path === '/api/v1/health') return send(res, 200, 'OK');
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return send(res, 401, { message: 'Unauthenticated.' });
    }
    const app = /^\/api\/v1\/applications\/([^/]+)\/(envs|restart)$/.exec(path);
    const vars = app ? envs.get(app[1] as string) : undefined;
    if (app && !vars) return send(res, 404, { message: 'Not found.' });
    if (app && vars && app[2] === 'envs') {
      if (req.method === 'GET') {
        return send(
          res,
          200,
          [...vars].map(([key, value]) => ({ key, value })),
        );
      }
      if (req.method !== 'PATCH') return send(res, 405, {});
      const { key, value } = (body ?? {}) as Record<string, unknown>;
      if (typeof key !== 'string' || typeof value !== 'string') {
        return send(res, 422, { message: 'key and value are required' });
      }
      vars.set(key, value);
      return send(res, 201, { uuid: randomUUID() });
    }
    if (app && app[2] === 'restart') {
      if (req.method !== 'POST') {
        return send(res, 405, { message: 'Method not allowed' });
      }
      const id = randomUUID();
      deployments.set(id, 0);
      return send(res, 200, {
        message: 'Restart request queued.',
        deployment_uuid: id,
      });
    }
    const dep = /^\/api\/v1\/deployments\/([^/]+)$/.exec(path);
    const seen = dep ? deployments.get(dep[1] as string) : undefined;
    if (dep && seen !== undefined && req.method === 'GET') {
      deployments.set(dep[1] as string, seen + 1);
      const status =
        seen === 0
          ? 'queued'
          : seen < polls
            ? 'in_progress'
            : (options.outcome ?? 'finished');
      return send(res, 200, { deployment_uuid: dep[1], status });
    }
    return send(res, 404, { message: 'Not found.' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    envs: (id) => Object.fromEntries(envs.get(id) ?? []),
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      ),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
