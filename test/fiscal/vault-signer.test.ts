import { X509Certificate, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { Vault } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from '../vault/rings.js';

const certs = new URL('../../fixtures/cis/certs/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, certs));
const PASSWORD = 'demo-pass-A';
const vault = new Vault(ringOf(masterKeys('v1'), ['v1']));
const binding: SecretBinding = {
  purpose: 'integration-account',
  companyId: 'co_a',
  accountId: 'acc_cis',
};
const envelope = vault.seal(
  packPkcs12(file('tenant-a.p12'), PASSWORD),
  binding,
);

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    if (error instanceof TenantGateError) return error.code;
    throw error;
  }
}

describe('vault certificate signer', () => {
  it('signs with the certificate’s key (RSA-SHA256 and RSA-SHA1)', () => {
    const signer = vault.signerFor(envelope, binding);
    const cert = new X509Certificate(signer.certificateDer());
    const data = Buffer.from('1234567890315.05.2026 10:20:307POSL121234.50');

    for (const hash of ['sha256', 'sha1'] as const) {
      const signature = signer.sign(data, hash);
      expect(verify(hash, data, cert.publicKey, signature)).toBe(true);
    }
    expect(signer.certificate.oib).toBe('12345678903');
    expect(signer.certificate.serialDecimal).toBe('8193');
  });

  it('does not reveal the key or the password through any view', () => {
    const signer = vault.signerFor(envelope, binding);
    const views = [
      JSON.stringify(signer),
      JSON.stringify({ nested: { signer } }),
      inspect(signer, { depth: 10, showHidden: true }),
      `${signer}`,
      Object.getOwnPropertyNames(signer).join(),
      JSON.stringify({ ...signer }),
    ].join('\n');

    expect(views).not.toContain(PASSWORD);
    expect(views).not.toContain('PRIVATE KEY');
    expect(views).not.toMatch(/privateKey|#key/);
    expect(views).toContain('FISKAL 1');
  });

  it('refuses an envelope bound to another account', () => {
    expect(
      codeOf(() =>
        vault.signerFor(envelope, { ...binding, accountId: 'acc_other' }),
      ),
    ).toBe('VAULT_SECRET_UNREADABLE');
  });

  it('refuses a sealed secret that is not a PKCS#12 pack', () => {
    const apiKey = vault.seal('not-a-certificate', binding);
    expect(codeOf(() => vault.signerFor(apiKey, binding))).toBe(
      'CERTIFICATE_INVALID',
    );
  });
});
