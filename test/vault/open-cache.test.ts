import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { MAX_OPEN_CACHE_MS, Vault } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from './rings.js';

const keys = masterKeys('v1', 'v2');
const binding: SecretBinding = {
  purpose: 'integration-account',
  companyId: 'co_a',
  accountId: 'acc_1',
};
const API_KEY = 'ePoslovanje-0c4d2b7e9a1f3568';

/** A vault that keeps opened authorisers, on a clock the test moves. */
function cachingVault(versions = ['v1', 'v2'], openCacheMs = 2000) {
  const clock = { now: 1_000 };
  const vault = new Vault(ringOf(keys, versions), {
    openCacheMs,
    now: () => clock.now,
  });
  return { vault, clock };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    if (error instanceof TenantGateError) return error.code;
    throw error;
  }
}

function keyOf(vault: Vault, envelope: string, b = binding): string {
  const headers: Record<string, string> = {};
  vault.apiKeyAuthoriser(envelope, b).authorise(headers);
  return headers.authorization ?? '';
}

/** The envelope with one character of its sealed secret changed. */
function tampered(envelope: string): string {
  const at = envelope.length - 5;
  const swap = envelope[at] === 'A' ? 'B' : 'A';
  return envelope.slice(0, at) + swap + envelope.slice(at + 1);
}

describe('opened authorisers kept for a short while', () => {
  it('hands out the same authoriser for the same envelope and binding within the window', () => {
    const { vault, clock } = cachingVault();
    const envelope = vault.seal(API_KEY, binding);

    const first = vault.apiKeyAuthoriser(envelope, binding);
    clock.now += 1999;
    const again = vault.apiKeyAuthoriser(envelope, binding);

    expect(again).toBe(first);
    expect(keyOf(vault, envelope)).toBe(API_KEY);
  });

  it('opens the envelope afresh once the window has passed', () => {
    const { vault, clock } = cachingVault();
    const envelope = vault.seal(API_KEY, binding);
    const first = vault.apiKeyAuthoriser(envelope, binding);

    clock.now += 2000;

    expect(vault.apiKeyAuthoriser(envelope, binding)).not.toBe(first);
  });

  it('holds a longer configured window to 2 s', () => {
    const { vault, clock } = cachingVault(['v1', 'v2'], 60_000);
    const envelope = vault.seal(API_KEY, binding);
    const first = vault.apiKeyAuthoriser(envelope, binding);

    clock.now += MAX_OPEN_CACHE_MS;

    expect(MAX_OPEN_CACHE_MS).toBe(2000);
    expect(vault.apiKeyAuthoriser(envelope, binding)).not.toBe(first);
  });

  it('opens on every call by default', () => {
    const vault = new Vault(ringOf(keys, ['v1', 'v2']));
    const envelope = vault.seal(API_KEY, binding);

    expect(vault.apiKeyAuthoriser(envelope, binding)).not.toBe(
      vault.apiKeyAuthoriser(envelope, binding),
    );
  });

  it('still refuses a tampered envelope while the original is kept', () => {
    const { vault } = cachingVault();
    const envelope = vault.seal(API_KEY, binding);
    expect(keyOf(vault, envelope)).toBe(API_KEY);

    expect(
      codeOf(() => vault.apiKeyAuthoriser(tampered(envelope), binding)),
    ).toBe('VAULT_SECRET_UNREADABLE');
    expect(keyOf(vault, envelope)).toBe(API_KEY);
  });

  it('does not open a kept envelope for another account or company', () => {
    const { vault } = cachingVault();
    const envelope = vault.seal(API_KEY, binding);
    expect(keyOf(vault, envelope)).toBe(API_KEY);

    const otherAccount = { ...binding, accountId: 'acc_2' };
    const otherCompany = { ...binding, companyId: 'co_b' };
    const legacy: SecretBinding = {
      purpose: 'legacy-einvoice-key',
      companyId: 'co_a',
    };

    for (const other of [otherAccount, otherCompany, legacy]) {
      expect(codeOf(() => vault.apiKeyAuthoriser(envelope, other))).toBe(
        'VAULT_SECRET_UNREADABLE',
      );
    }
    expect(keyOf(vault, envelope)).toBe(API_KEY);
  });

  it('sees a re-wrapped envelope under its new key version at once', () => {
    const old = cachingVault(['v1']).vault;
    const { vault } = cachingVault(['v1', 'v2']);
    const envelope = old.seal(API_KEY, binding);
    expect(vault.apiKeyAuthoriser(envelope, binding).keyVersion).toBe('v1');

    const rewrapped = vault.rewrap(envelope, binding);

    expect(vault.apiKeyAuthoriser(rewrapped, binding).keyVersion).toBe('v2');
    expect(keyOf(vault, rewrapped)).toBe(API_KEY);
  });

  it('keeps at most openCacheSize authorisers, dropping the oldest', () => {
    const clock = { now: 0 };
    const vault = new Vault(ringOf(keys, ['v2']), {
      openCacheMs: 2000,
      openCacheSize: 2,
      now: () => clock.now,
    });
    const envelopes = ['a', 'b', 'c'].map((k) =>
      vault.seal(`key-${k}`, binding),
    );
    const [a, b, c] = envelopes.map((e) => vault.apiKeyAuthoriser(e, binding));

    expect(vault.apiKeyAuthoriser(envelopes[2] as string, binding)).toBe(c);
    expect(vault.apiKeyAuthoriser(envelopes[1] as string, binding)).toBe(b);
    expect(vault.apiKeyAuthoriser(envelopes[0] as string, binding)).not.toBe(a);
  });

  it('does not reveal a kept key through the vault', () => {
    const { vault } = cachingVault();
    const envelope = vault.seal(API_KEY, binding);
    vault.apiKeyAuthoriser(envelope, binding);

    const views = [
      JSON.stringify(vault),
      inspect(vault, { depth: 10, showHidden: true }),
      String(vault),
      Object.getOwnPropertyNames(vault).join(),
    ];

    for (const view of views) expect(view).not.toContain(API_KEY);
  });
});
