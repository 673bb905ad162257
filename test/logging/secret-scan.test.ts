import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import config from '../../vitest.config.js';
import { knownSecrets, registerSecret } from '../support/known-secrets.js';
import { activeScan, SecretScan } from '../support/secret-scan.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the planted-leak fixture files with the suite's secret scan. */
async function runFixtures(): Promise<{ code: number; output: string }> {
  try {
    const r = await run(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--config',
        'test/logging/fixtures/vitest.config.ts',
      ],
      { cwd: ROOT, env: { ...process.env, CI: '1', NO_COLOR: '1' } },
    );
    return { code: 0, output: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('Item 8: the whole suite is scanned for secrets', () => {
  it('runs the scan before every test file of the suite', () => {
    expect(config.test?.setupFiles).toContain(
      'test/support/secret-scan.setup.ts',
    );
  });

  it('sees the lines of a silent logger, at debug level', () => {
    const marker = `marker-${Date.now()}`;

    createLogger('silent').debug({ event: 'test.tap', marker });

    const found = activeScan()?.leaks([{ label: 'marker', value: marker }]);
    expect(found?.map((l) => l.source)).toEqual(['log']);
  });

  it('receives redacted lines: a password field never reaches the scan', () => {
    const password = 'demo-pass-A';
    const before = activeScan()?.size('log') ?? 0;
    const sink = new Writable({ write: (_c, _e, done) => done() });

    createLogger('info', sink).info({ event: 'test.redacted', password });

    expect(activeScan()?.size('log')).toBe(before + 1);
    expect(activeScan()?.leaks(knownSecrets())).toEqual([]);
  });

  it('finds a registered master key and names it, not its value', () => {
    const key = 'bWFzdGVyLWtleS1mb3ItdGhlLXNjYW4tdGVzdA==';
    const scan = new SecretScan();
    scan.add('log', `{"event":"vault.opened","key":"${key}"}`);
    registerSecret('test master key', key);

    const leaks = scan.leaks(knownSecrets());

    expect(leaks.map((l) => l.label)).toEqual(['test master key']);
    expect(leaks[0]?.excerpt).toContain('[SECRET: test master key]');
    expect(JSON.stringify(leaks)).not.toContain(key);
  });

  it('finds a vault key list in any test, registered or not', () => {
    const keys = `v1:${randomBytes(32).toString('base64')}`;
    const scan = new SecretScan();
    scan.add('log', `{"event":"config.loaded","keys":"${keys}"}`);

    const leaks = scan.leaks(knownSecrets());

    expect(leaks.map((l) => l.label)).toEqual([
      'vault master key list (TENANTGATE_VAULT_KEYS)',
    ]);
  });

  it('allows an issued API token in a response, never in a log', () => {
    const token = `tgo_${'ab'.repeat(32)}`;
    const scan = new SecretScan();
    scan.add('response', JSON.stringify({ token }));
    scan.add('log', JSON.stringify({ event: 'api.key_created', token }));

    const leaks = scan.leaks(knownSecrets());

    expect(leaks.map((l) => [l.source, l.label])).toEqual([
      ['log', 'TenantGate API token'],
    ]);
  });

  it('fails a test file whose log, response or child output has a secret', async () => {
    const { code, output } = await runFixtures();

    expect(code).not.toBe(0);
    expect(output).toContain('planted-log.fixture.ts');
    expect(output).toContain('[SECRET: PKCS#12 password tenant-a.p12]');
    expect(output).toContain('planted-response.fixture.ts');
    expect(output).toContain('[SECRET: intermediary API key (newApiKey)]');
    expect(output).toContain('planted-output.fixture.ts');
    expect(output).toContain('output: PKCS#12 password tenant-b-legacy.p12');
    expect(output).toContain('output: PKCS#12 password tenant-c-expired.p12');
    expect(output).not.toContain('with demo-pass-A');
    expect(output).not.toContain('0123456789abcdef01234567"');
  }, 60_000);
});
