import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import {
  commandHook,
  coolifyHook,
  webhookHook,
} from '../../src/rollout/deploy-hooks.js';
import { compressedRollout } from '../../src/rollout/demo.js';
import { startCoolifySimulator } from '../../src/sandbox/coolify-simulator.js';

const CHANGE = {
  environment: 'production' as const,
  key: 'FF_ENFORCE_INTEGRATION_ACCOUNT',
  value: 'false',
};

describe('deploy hooks', () => {
  it('reports a failed Coolify deployment as a failed step, token-free', async () => {
    const token = 'secret-token-abcdef';
    const sim = await startCoolifySimulator({
      token,
      appUuids: ['app'],
      outcome: 'failed',
    });
    try {
      const hook = coolifyHook({
        url: sim.url,
        token,
        appUuids: { production: 'app' },
        pollMs: 5,
      });

      const steps = await hook.apply(CHANGE);

      expect(steps.map((s) => [s.step, s.ok])).toEqual([
        ['coolify.env_patch', true],
        ['coolify.env_read_back', true],
        ['coolify.restart', true],
        ['coolify.deployment', false],
      ]);
      expect(JSON.stringify(steps)).not.toContain(token);
    } finally {
      await sim.close();
    }
  });

  it('stops at the first Coolify step refused (wrong token)', async () => {
    const sim = await startCoolifySimulator({ token: 'a', appUuids: ['app'] });
    try {
      const hook = coolifyHook({
        url: sim.url,
        token: 'b',
        appUuids: { production: 'app' },
      });

      const steps = await hook.apply(CHANGE);

      expect(steps).toEqual([
        expect.objectContaining({
          step: 'coolify.env_patch',
          ok: false,
          details: { message: expect.stringContaining('HTTP 401') },
        }),
      ]);
    } finally {
      await sim.close();
    }
  });

  it('posts the change to a webhook as JSON', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const steps = await webhookHook(`http://127.0.0.1:${port}/hook`).apply(
        CHANGE,
      );

      expect(steps[0]).toMatchObject({ step: 'webhook.post', ok: true });
      expect(bodies).toEqual([CHANGE]);
    } finally {
      server.close();
    }
  });

  it('runs a command with the change in its environment', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hook-')), 'out.txt');
    const hook = commandHook(process.execPath, [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(out)},
        process.env.TENANTGATE_KEY + '=' + process.env.TENANTGATE_VALUE)`,
    ]);

    const steps = await hook.apply(CHANGE);

    expect(steps[0]).toMatchObject({ step: 'command.run', ok: true });
    expect(readFileSync(out, 'utf8')).toBe(
      'FF_ENFORCE_INTEGRATION_ACCOUNT=false',
    );
  });
});

describe('compressed rollout demo', () => {
  it('walks to production enforcement and rolls back on the breach', async () => {
    const lines: string[] = [];

    const code = await compressedRollout(createLogger('silent'), (l) =>
      lines.push(l),
    );

    expect(code).toBe(0);
    expect(lines.join('\n')).toContain(
      'PRODUCTION_SOFT_FAIL -> PRODUCTION_ENFORCED',
    );
    expect(lines).toContain('stage now: ROLLED_BACK');
  }, 60_000);
});
