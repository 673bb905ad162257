import { afterAll, beforeAll, expect } from 'vitest';
import { ApiKeyService } from '../../src/api/api-keys.js';
import {
  startApi,
  type ApiServerOptions,
  type RunningApi,
} from '../../src/api/server.js';
import type { ApiApp } from '../../src/api/context.js';
import type { Database } from '../../src/db/database.js';
import { usePlatform, type Platform } from '../support/platform.js';

/** An HTTP answer: status, headers and the parsed JSON body. */
export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON
  body: any;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The API served over loopback on a free port, with an operator key. */
export interface ApiHarness {
  platform: Platform;
  api: RunningApi;
  keys: ApiKeyService;
  operatorToken: string;
  operatorKeyId: string;
  /** A new tenant key for the company: its token and id. */
  tenantKey(companyId: string): Promise<{ token: string; id: string }>;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
}

/** The wired services the API needs, from the test platform. */
export function apiAppOf(p: Platform): ApiApp {
  return {
    db: p.db,
    vault: p.vault,
    logger: p.logger,
    outbound: p.outbound,
    settings: {
      accountEnvironment: 'TEST',
      deploymentEnvironment: 'staging',
    },
  };
}

export const PROBLEM = 'application/problem+json';

/** Asserts an RFC 9457 problem with TenantGate's stable fields. */
export function expectProblem(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toContain(PROBLEM);
  expect(answer.body).toMatchObject({
    type: `urn:tenantgate:error:${code}`,
    status,
    code,
    title: expect.stringMatching(/Error$/),
    detail: expect.any(String),
    severity: expect.stringMatching(/^P[012]$/),
    retryable: expect.any(Boolean),
    instance: answer.headers.get('x-request-id'),
  });
}

/** Sends one request; JSON bodies in and out. */
export async function call(
  url: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(url + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed,
    text,
  };
}

/**
 * One platform, one API server on 127.0.0.1:0 and one operator key per
 * suite.
 */
export function useApi(
  db: () => Database,
  options: ApiServerOptions = {},
  /** Services to add or replace (a rollout wiring, fiscalization). */
  extra: (p: Platform) => Partial<ApiApp> = () => ({}),
): () => ApiHarness {
  const platform = usePlatform(db);
  let harness: ApiHarness | undefined;
  beforeAll(async () => {
    const p = platform();
    const keys = new ApiKeyService({ db: p.db, logger: p.logger });
    const api = await startApi(
      { ...apiAppOf(p), ...extra(p) },
      { ...options, port: 0 },
    );
    const operatorKey = await keys.create({ kind: 'operator' });
    harness = {
      platform: p,
      api,
      keys,
      operatorToken: operatorKey.token,
      operatorKeyId: operatorKey.key.id,
      tenantKey: async (companyId) => {
        const created = await keys.create({ kind: 'tenant', companyId });
        return { token: created.token, id: created.key.id };
      },
      call: (method, path, callOptions) =>
        call(api.url, method, path, callOptions),
    };
  });
  afterAll(async () => {
    await harness?.api.close();
  });
  return () => {
    if (!harness) throw new Error('API not started yet');
    return harness;
  };
}
