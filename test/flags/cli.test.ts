import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPostgres } from '../support/databases.js';

// On PostgreSQL only: an embedded database would pay initdb per command.
const skip = !process.env.TEST_DATABASE_URL;
let url = '';
let drop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (skip) return;
  const opened = await openTestPostgres();
  url = String(opened.db.pool.options.connectionString);
  drop = opened.drop;
});
afterAll(async () => {
  await drop?.();
});

/** Runs `tenantgate …` on a database of its own. */
function tenantgate(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: url,
        LOG_LEVEL: 'silent',
      },
    },
  );
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe.skipIf(skip)(
  'tenantgate flags and metrics commands',
  { timeout: 60_000 },
  () => {
    it('refuses a change without a reason, then records one with it', () => {
      const refused = tenantgate(
        'flags',
        'set',
        'FF_INTEGRATION_ACCOUNT_OUTBOUND',
        'on',
        '--env',
        'staging',
      );
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('field reason, rule required');

      const set = tenantgate(
        'flags',
        'set',
        'FF_INTEGRATION_ACCOUNT_OUTBOUND',
        'on',
        '--env',
        'staging',
        '--reason',
        'migration wave 1',
        '--actor',
        'ops@example.hr',
        '--json',
      );
      expect(set.code).toBe(0);
      expect(JSON.parse(set.out)).toMatchObject({
        actor: 'ops@example.hr',
        reason: 'migration wave 1',
        newValue: { enabled: true },
      });

      const history = tenantgate('flags', 'history', '--json');
      expect(JSON.parse(history.out)).toHaveLength(1);
    });

    it('refuses enforcement on outside the rollout (exit 2, naming the stage and the command); --override-rollout sets it and says so in the history; off always passes', () => {
      const on = [
        ...['flags', 'set', 'FF_ENFORCE_INTEGRATION_ACCOUNT', 'on'],
        ...['--env', 'production', '--reason', 'skip the gates'],
      ];
      const refused = tenantgate(...on);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(
        /^error ENFORCEMENT_OWNED_BY_ROLLOUT: FF_ENFORCE_INTEGRATION_ACCOUNT: on in production /,
      );
      expect(refused.err).toContain('the rollout is at LEGACY');
      expect(refused.err).toContain('`tenantgate rollout advance`');
      expect(refused.err).toContain(
        '[field enabled, rule rollout-owns-enforcement]',
      );
      expect(refused.err).not.toMatch(/^\s+at /m);

      const forced = tenantgate(...on, '--override-rollout', '--json');
      expect(forced.code).toBe(0);
      expect(JSON.parse(forced.out)).toMatchObject({
        environment: 'production',
        reason: 'rollout overridden at LEGACY: skip the gates',
        newValue: { enabled: true },
      });

      const off = tenantgate(
        ...['flags', 'set', 'FF_ENFORCE_INTEGRATION_ACCOUNT', 'off'],
        ...['--env', 'production', '--reason', 'back off', '--json'],
      );
      expect(off.code).toBe(0);
      expect(JSON.parse(off.out).reason).toBe('back off');
    });

    it('prints an empty window as no data', () => {
      const metrics = tenantgate('metrics', '--json', '--since', '1h');
      expect(metrics.code).toBe(0);
      const report = JSON.parse(metrics.out);
      expect(report.sampleSize).toBe(0);
      expect(report.failures.share).toBeNull();
      const text = tenantgate('metrics', '--since', '1h');
      expect(text.out).toContain('no data');
    });
  },
);
