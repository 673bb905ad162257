import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { Vault } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from './rings.js';

const vault = new Vault(ringOf(masterKeys('v1'), ['v1']));
const binding: SecretBinding = {
  purpose: 'integration-account',
  companyId: 'co_a',
  accountId: 'acc_1',
};
const PASSWORD = 'set-pa55word-91c';

const authoriserOf = (secret: string) =>
  vault.apiKeyAuthoriser(vault.seal(secret, binding), binding);

function thrown(fn: () => unknown): TenantGateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TenantGateError) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

describe('credential set authoriser', () => {
  it('adds its headers (lowercased) and body fields where the client asks', () => {
    const auth = authoriserOf(
      JSON.stringify({
        headers: { Authorization: 'Basic dTpw', Token: 't-1' },
        body: { Username: 'u', Password: PASSWORD },
      }),
    );
    const headers: Record<string, string> = { accept: 'application/json' };
    const body: Record<string, unknown> = { File: '<x/>' };

    auth.authorise(headers);
    auth.authoriseBody?.(body);

    expect(headers).toEqual({
      accept: 'application/json',
      authorization: 'Basic dTpw',
      token: 't-1',
    });
    expect(body).toEqual({ File: '<x/>', Username: 'u', Password: PASSWORD });
  });

  it('never shows its values when logged or serialised', () => {
    const auth = authoriserOf(JSON.stringify({ body: { Password: PASSWORD } }));

    expect(JSON.stringify(auth)).not.toContain(PASSWORD);
    expect(inspect(auth, { depth: 5 })).not.toContain(PASSWORD);
    expect(String(auth)).not.toContain(PASSWORD);
  });

  it.each([
    ['not JSON', `{ Password: ${PASSWORD}`, 'credential-set-json'],
    [
      'an unknown part',
      `{"query":{"p":"${PASSWORD}"}}`,
      'credential-set-parts',
    ],
    [
      'a non-string value',
      '{"body":{"Password":42}}',
      'credential-set-body-strings',
    ],
    [
      'a header with a line break',
      `{"headers":{"x":"a\\r\\nb${PASSWORD}"}}`,
      'credential-set-header-value',
    ],
    ['nothing in it', '{"body":{}}', 'credential-set-empty'],
  ])('refuses a set with %s, naming the rule only', (_n, secret, rule) => {
    const error = thrown(() => authoriserOf(secret));

    expect(error.code).toBe('VAULT_SECRET_INVALID');
    expect(error.details).toMatchObject({ rule });
    expect(JSON.stringify(error) + error.message).not.toContain(PASSWORD);
  });

  it('keeps a raw API key a raw API key (no authoriseBody)', () => {
    const auth = authoriserOf('raw-key-123');
    const headers: Record<string, string> = {};

    auth.authorise(headers);

    expect(headers).toEqual({ authorization: 'raw-key-123' });
    expect(auth.authoriseBody).toBeUndefined();
    expect(auth.tlsAgent).toBeUndefined();
  });
});

describe('mutual TLS authoriser', () => {
  const p12 = readFileSync(
    new URL('../../fixtures/fina/tenant-supplier.p12', import.meta.url),
  );
  const key = readFileSync(
    new URL('../../fixtures/fina/tenant-supplier.key', import.meta.url),
    'utf8',
  );
  const auth = vault.apiKeyAuthoriser(
    vault.seal(packPkcs12(p12, 'fina-demo-pass'), binding),
    binding,
  );

  it('offers a TLS agent and a signer for the certificate, and no header', () => {
    const headers: Record<string, string> = {};
    auth.authorise(headers);
    const agent = auth.tlsAgent?.();

    expect(headers).toEqual({});
    expect(agent?.options.cert).toContain('BEGIN CERTIFICATE');
    expect(auth.signer?.certificate.oib).toBe('12345678903');
    expect(auth.authoriseBody).toBeUndefined();
    agent?.destroy();
  });

  it('never shows the key or the password when logged or serialised', () => {
    const keyLine = key.split('\n')[1] ?? 'unreachable';
    for (const shown of [JSON.stringify(auth), inspect(auth), String(auth)]) {
      expect(shown).not.toContain(keyLine);
      expect(shown).not.toContain('fina-demo-pass');
    }
  });
});
