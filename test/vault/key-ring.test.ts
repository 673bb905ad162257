import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import type { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { ensureLocalKeyFile, loadKeyRing } from '../../src/vault/key-ring.js';
import { keyList, masterKeys } from './rings.js';

function vaultSettings(env: Record<string, string>) {
  return loadSettings(env).vault;
}

function failure(fn: () => unknown): TenantGateError {
  try {
    fn();
  } catch (error) {
    return error as TenantGateError;
  }
  throw new Error('expected a failure');
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tenantgate-vault-'));
}

describe('key ring configuration', () => {
  it('reads versions from TENANTGATE_VAULT_KEYS, the last one active', () => {
    const keys = masterKeys('v1', 'v2');
    const ring = loadKeyRing(
      vaultSettings({ TENANTGATE_VAULT_KEYS: keyList(keys) }),
    );

    expect(ring.versions).toEqual(['v1', 'v2']);
    expect(ring.activeVersion).toBe('v2');
  });

  it('takes the active version from TENANTGATE_VAULT_ACTIVE_KEY', () => {
    const keys = masterKeys('v1', 'v2');
    const ring = loadKeyRing(
      vaultSettings({
        TENANTGATE_VAULT_KEYS: keyList(keys),
        TENANTGATE_VAULT_ACTIVE_KEY: 'v1',
      }),
    );

    expect(ring.activeVersion).toBe('v1');
  });

  it('reads a JSON key file, with the env active version overriding', () => {
    const keys = masterKeys('v1', 'v2');
    const path = join(tempDir(), 'keys.json');
    writeFileSync(
      path,
      JSON.stringify({
        active: 'v2',
        keys: Object.fromEntries(
          [...keys].map(([v, b]) => [v, b.toString('base64')]),
        ),
      }),
    );

    const fromFile = loadKeyRing(
      vaultSettings({ TENANTGATE_VAULT_KEY_FILE: path }),
    );
    const overridden = loadKeyRing(
      vaultSettings({
        TENANTGATE_VAULT_KEY_FILE: path,
        TENANTGATE_VAULT_ACTIVE_KEY: 'v1',
      }),
    );

    expect(fromFile.activeVersion).toBe('v2');
    expect(overridden.activeVersion).toBe('v1');
  });

  it('without any key, fails with VAULT_KEY_MISSING naming the env vars', () => {
    const error = failure(() => loadKeyRing(vaultSettings({})));

    expect(error.code).toBe('VAULT_KEY_MISSING');
    expect(error.message).toContain('TENANTGATE_VAULT_KEYS');
    expect(error.message).toContain('TENANTGATE_VAULT_KEY_FILE');
    expect(error.message).toContain('TENANTGATE_VAULT_ACTIVE_KEY');
  });

  it('refuses a key that is not 32 bytes, naming variable and version', () => {
    const short = randomBytes(16).toString('base64');
    const error = failure(() =>
      loadKeyRing(vaultSettings({ TENANTGATE_VAULT_KEYS: `v1:${short}` })),
    );

    expect(error.code).toBe('VAULT_CONFIG_INVALID');
    expect(error.message).toContain('TENANTGATE_VAULT_KEYS');
    expect(error.message).toContain('"v1"');
    expect(JSON.stringify(error)).not.toContain(short);
  });

  it('refuses an active version that is not configured', () => {
    const keys = masterKeys('v1');
    const error = failure(() =>
      loadKeyRing(
        vaultSettings({
          TENANTGATE_VAULT_KEYS: keyList(keys),
          TENANTGATE_VAULT_ACTIVE_KEY: 'v9',
        }),
      ),
    );

    expect(error.code).toBe('VAULT_CONFIG_INVALID');
    expect(error.message).toContain('TENANTGATE_VAULT_ACTIVE_KEY');
    expect(error.details).toMatchObject({ keyVersion: 'v9' });
  });

  it('refuses a key file that is not JSON without quoting its content', () => {
    const secretish = randomBytes(32).toString('base64');
    const path = join(tempDir(), 'keys.json');
    writeFileSync(path, `{"active": "v1", "keys": {"v1": ${secretish}}}`);

    const error = failure(() =>
      loadKeyRing(vaultSettings({ TENANTGATE_VAULT_KEY_FILE: path })),
    );

    expect(error.code).toBe('VAULT_CONFIG_INVALID');
    expect(error.message).toContain('TENANTGATE_VAULT_KEY_FILE');
    expect(inspect(error, { depth: 5 })).not.toContain(secretish);
  });

  it('refuses both a key list and a key file', () => {
    const error = failure(() =>
      loadKeyRing(
        vaultSettings({
          TENANTGATE_VAULT_KEYS: keyList(masterKeys('v1')),
          TENANTGATE_VAULT_KEY_FILE: '/nonexistent/keys.json',
        }),
      ),
    );

    expect(error.code).toBe('VAULT_CONFIG_INVALID');
  });

  it('shows only version names when inspected or serialised', () => {
    const keys = masterKeys('v1', 'v2');
    const ring = loadKeyRing(
      vaultSettings({ TENANTGATE_VAULT_KEYS: keyList(keys) }),
    );
    const shown = [inspect(ring), JSON.stringify(ring), `${ring}`].join();

    for (const bytes of keys.values()) {
      expect(shown).not.toContain(bytes.toString('base64'));
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({
      activeVersion: 'v2',
      versions: ['v1', 'v2'],
    });
  });
});

describe('local key file for the embedded demo', () => {
  it('generates a 0600 key file once and says it did', () => {
    const path = join(tempDir(), 'nested', 'vault-keys.json');

    const first = ensureLocalKeyFile(path);
    const content = readFileSync(path, 'utf8');
    const second = ensureLocalKeyFile(path);

    expect(first).toEqual({ path, created: true });
    expect(second).toEqual({ path, created: false });
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const ring = loadKeyRing(
      vaultSettings({ TENANTGATE_VAULT_KEY_FILE: path }),
    );
    expect(ring.activeVersion).toBe('v1');
  });
});
