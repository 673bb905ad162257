import { describe, expect, it } from 'vitest';
import { accountBinding } from '../../src/accounts/account-service.js';
import { Vault } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from './rings.js';

const vault = new Vault(ringOf(masterKeys('v1'), ['v1']));

const legacyBinding = (companyId: string) => ({
  purpose: 'legacy-fiscal-certificate' as const,
  companyId,
});

describe('Vault.reseal', () => {
  it('moves a secret to a new binding without it leaving the vault', () => {
    const from = legacyBinding('co_a');
    const to = accountBinding('co_a', 'ia_1');
    const legacy = vault.seal('api-key-123', from);

    const resealed = vault.reseal(legacy, from, to);

    const headers: Record<string, string> = {};
    vault.apiKeyAuthoriser(resealed, to).authorise(headers);
    expect(headers.authorization).toBe('api-key-123');
    expect(vault.canOpen(resealed, from)).toBe(false);
    expect(resealed).not.toContain('api-key-123');
  });

  it('refuses an envelope that does not open for the old binding', () => {
    const legacy = vault.seal('api-key-123', legacyBinding('co_a'));

    expect(() =>
      vault.reseal(
        legacy,
        legacyBinding('co_b'),
        accountBinding('co_b', 'ia_1'),
      ),
    ).toThrow(expect.objectContaining({ code: 'VAULT_SECRET_UNREADABLE' }));
  });

  it('refuses an incomplete new binding before opening anything', () => {
    const legacy = vault.seal('api-key-123', legacyBinding('co_a'));

    expect(() =>
      vault.reseal(legacy, legacyBinding('co_a'), {
        purpose: 'integration-account',
        companyId: 'co_a',
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
