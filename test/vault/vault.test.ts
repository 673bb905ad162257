import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { Vault } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from './rings.js';

const keys = masterKeys('v1', 'v2');
const vault = new Vault(ringOf(keys, ['v1', 'v2']));
const binding: SecretBinding = {
  purpose: 'integration-account',
  companyId: 'co_a',
  accountId: 'acc_1',
};
const API_KEY = 'ePoslovanje-7f3a9c1e5b2d4f60';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    if (error instanceof TenantGateError) return error.code;
    throw error;
  }
}

describe('API key authoriser', () => {
  it('sets authorization to the raw API key, with no scheme', () => {
    const authoriser = vault.apiKeyAuthoriser(
      vault.seal(API_KEY, binding),
      binding,
    );
    const headers: Record<string, string> = { accept: 'application/json' };

    authoriser.authorise(headers);

    expect(headers).toEqual({
      accept: 'application/json',
      authorization: API_KEY,
    });
    expect(authoriser.keyVersion).toBe('v2');
  });

  it('does not reveal the key through JSON, inspect, strings or keys', () => {
    const authoriser = vault.apiKeyAuthoriser(
      vault.seal(API_KEY, binding),
      binding,
    );

    const views = [
      JSON.stringify(authoriser),
      JSON.stringify({ nested: { authoriser } }),
      inspect(authoriser, { depth: 10, showHidden: true }),
      inspect({ authoriser }, { depth: 10 }),
      `${authoriser}`,
      String(authoriser),
      Object.keys(authoriser).join(),
      Object.getOwnPropertyNames(authoriser).join(),
      JSON.stringify(Object.entries(authoriser)),
      JSON.stringify({ ...authoriser }),
    ];

    for (const view of views) expect(view).not.toContain(API_KEY);
    expect(Object.keys(authoriser)).toEqual(['keyVersion']);
  });

  it('fails at construction, before any request, when the secret does not open', () => {
    const envelope = vault.seal(API_KEY, binding);
    const otherCompany = { ...binding, companyId: 'co_b' };
    const withoutV2 = new Vault(ringOf(keys, ['v1']));

    expect(codeOf(() => vault.apiKeyAuthoriser(envelope, otherCompany))).toBe(
      'VAULT_SECRET_UNREADABLE',
    );
    expect(codeOf(() => withoutV2.apiKeyAuthoriser(envelope, binding))).toBe(
      'VAULT_KEY_MISSING',
    );
  });

  it('refuses a key that is not a header value without quoting it', () => {
    const envelope = vault.seal('line\r\nbreak-key', binding);
    let error: TenantGateError | undefined;
    try {
      vault.apiKeyAuthoriser(envelope, binding);
    } catch (e) {
      error = e as TenantGateError;
    }

    expect(error?.code).toBe('VAULT_SECRET_INVALID');
    expect(JSON.stringify(error) + error?.message).not.toContain('break-key');
  });
});

describe('vault', () => {
  it('tells whether an envelope opens for a binding', () => {
    const envelope = vault.seal(API_KEY, binding);

    expect(vault.canOpen(envelope, binding)).toBe(true);
    expect(vault.canOpen(envelope, { ...binding, accountId: 'acc_2' })).toBe(
      false,
    );
    expect(vault.canOpen('not an envelope', binding)).toBe(false);
  });

  it('re-wraps an old envelope so a ring with only the new key opens it', () => {
    const oldVault = new Vault(ringOf(keys, ['v1']));
    const newOnly = new Vault(ringOf(keys, ['v2']));
    const old = oldVault.seal(API_KEY, binding);

    const rewrapped = vault.rewrap(old, binding);

    expect(vault.needsRewrap(old)).toBe(true);
    expect(vault.needsRewrap(rewrapped)).toBe(false);
    expect(newOnly.canOpen(old, binding)).toBe(false);
    const headers: Record<string, string> = {};
    newOnly.apiKeyAuthoriser(rewrapped, binding).authorise(headers);
    expect(headers.authorization).toBe(API_KEY);
  });
});
