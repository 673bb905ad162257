import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Settings } from '../config/settings.js';
import { invalidInput } from '../errors/tenantgate-error.js';

const run = promisify(execFile);

/** The variable change a deploy hook applies (e.g. enforcement off). */
export interface EnvChange {
  environment: 'staging' | 'production';
  key: string;
  value: string;
}

/** One timed sub-step of a hook. */
export interface HookStep {
  step: string;
  ok: boolean;
  durationMs: number;
  details: Record<string, unknown>;
}

/**
 * Applies an environment change to the running deployment, after the
 * flag store already did. Returns its timed steps; a failed step ends
 * the hook with `ok: false` (the hook never throws).
 */
export interface DeployHook {
  readonly name: 'none' | 'coolify' | 'webhook' | 'command';
  apply(change: EnvChange): Promise<HookStep[]>;
}

/** Times one step; an exception becomes a failed step (no secrets). */
async function timed(
  step: string,
  fn: () => Promise<Record<string, unknown>>,
): Promise<HookStep> {
  const start = performance.now();
  try {
    const details = await fn();
    return { step, ok: true, durationMs: since(start), details };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { step, ok: false, durationMs: since(start), details: { message } };
  }
}

const since = (start: number) => Math.round(performance.now() - start);

/** No deploy hook: the flag store alone switches enforcement. */
export const noHook: DeployHook = {
  name: 'none',
  apply: async () => [],
};

export interface CoolifyOptions {
  /** Coolify base URL, without `/api/v1`. */
  url: string;
  /** Bearer token (abilities write, deploy). Never logged. */
  token: string;
  /** The application's uuid per deployment environment. */
  appUuids: Partial<Record<EnvChange['environment'], string>>;
  /** Between deployment polls. Default 1000 ms. */
  pollMs?: number;
  /** Gives up waiting for the deployment after this. Default 300 000. */
  timeoutMs?: number;
}

/**
 * Coolify: PATCH the variable (upsert), read it back, POST restart,
 * poll the deployment until finished or failed (PROTOCOLS.md).
 */
export function coolifyHook(options: CoolifyOptions): DeployHook {
  const base = `${options.url.replace(/\/$/, '')}/api/v1`;
  const headers = {
    authorization: `Bearer ${options.token}`,
    'content-type': 'application/json',
    accept: 'application/json',
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as unknown;
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
    return json;
  };

  return {
    name: 'coolify',
    async apply(change) {
      const app = options.appUuids[change.environment];
      if (!app) {
        return [
          {
            step: 'coolify.config',
            ok: false,
            durationMs: 0,
            details: { message: `no app uuid for ${change.environment}` },
          },
        ];
      }
      const steps: HookStep[] = [];
      const go = async (
        step: string,
        fn: () => Promise<Record<string, unknown>>,
      ) => {
        const s = await timed(step, fn);
        steps.push(s);
        return s.ok;
      };
      let deployment = '';
      const ok =
        (await go('coolify.env_patch', async () => {
          await call('PATCH', `/applications/${app}/envs`, {
            key: change.key,
            value: change.value,
          });
          return { key: change.key, value: change.value };
        })) &&
        (await go('coolify.env_read_back', async () => {
          const list = (await call('GET', `/applications/${app}/envs`)) as {
            key: string;
            value: string;
          }[];
          const found = list.find((e) => e.key === change.key);
          if (found?.value !== change.value) {
            throw new Error(`${change.key} reads back ${found?.value}`);
          }
          return { confirmed: true };
        })) &&
        (await go('coolify.restart', async () => {
          const r = (await call('POST', `/applications/${app}/restart`)) as {
            deployment_uuid?: string;
          };
          deployment = r.deployment_uuid ?? '';
          if (deployment === '') throw new Error('no deployment_uuid');
          return { deploymentUuid: deployment };
        }));
      if (!ok) return steps;
      await go('coolify.deployment', () => poll(call, deployment, options));
      return steps;
    },
  };
}

async function poll(
  call: (m: string, p: string) => Promise<unknown>,
  deployment: string,
  options: CoolifyOptions,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let polls = 0;
  for (;;) {
    polls++;
    const r = (await call('GET', `/deployments/${deployment}`)) as {
      status?: string;
    };
    if (r.status === 'finished') return { status: r.status, polls };
    if (r.status === 'failed' || r.status === 'cancelled-by-user') {
      throw new Error(`deployment ${deployment} ${r.status}`);
    }
    if (Date.now() > deadline) throw new Error('deployment timed out');
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}

/** A generic webhook: POSTs the change as JSON. */
export function webhookHook(url: string): DeployHook {
  return {
    name: 'webhook',
    apply: async (change) => [
      await timed('webhook.post', async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(change),
        });
        if (!res.ok) throw new Error(`webhook: HTTP ${res.status}`);
        return { status: res.status };
      }),
    ],
  };
}

/**
 * A command run without a shell, with the change in its environment
 * (`TENANTGATE_ENV`, `TENANTGATE_KEY`, `TENANTGATE_VALUE`).
 */
export function commandHook(file: string, args: string[] = []): DeployHook {
  return {
    name: 'command',
    apply: async (change) => [
      await timed('command.run', async () => {
        await run(file, args, {
          timeout: 300_000,
          env: {
            ...process.env,
            TENANTGATE_ENV: change.environment,
            TENANTGATE_KEY: change.key,
            TENANTGATE_VALUE: change.value,
          },
        });
        return { file };
      }),
    ],
  };
}

/**
 * The deploy hook the settings name, for the deployment environment
 * TenantGate runs in. Missing configuration is a ValidationError naming
 * the variable (never its value).
 */
export function hookFromSettings(settings: Settings): DeployHook {
  const h = settings.deployHook;
  if (h.kind === 'none') return noHook;
  if (h.kind === 'webhook') {
    return webhookHook(need(h.webhookUrl, 'TENANTGATE_DEPLOY_WEBHOOK_URL'));
  }
  if (h.kind === 'command') {
    return commandHook(need(h.command, 'TENANTGATE_DEPLOY_COMMAND'));
  }
  return coolifyHook({
    url: need(h.coolifyUrl, 'COOLIFY_URL'),
    token: need(h.coolifyToken, 'COOLIFY_API_TOKEN'),
    appUuids: {
      [settings.deploymentEnvironment]: need(
        h.coolifyAppUuid,
        'COOLIFY_APP_UUID',
      ),
    },
    timeoutMs: settings.httpTimeoutMs * 20,
  });
}

function need(value: string | undefined, field: string): string {
  if (value === undefined) {
    throw invalidInput(
      field,
      'required',
      `${field}: required by TENANTGATE_DEPLOY_HOOK`,
    );
  }
  return value;
}
