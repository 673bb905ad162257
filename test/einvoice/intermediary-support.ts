import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { expect } from 'vitest';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import type { SecretBinding } from '../../src/vault/envelope.js';
import { Vault, type RequestAuthoriser } from '../../src/vault/vault.js';
import { masterKeys, ringOf } from '../vault/rings.js';

// Shared by the intermediary client tests: the official samples, a real
// vault handing out capabilities, and error helpers.

/** The official samples' dummy supplier and customer OIBs. */
export const SAMPLE_SUPPLIER_OIB = '12345678901';
export const SAMPLE_CUSTOMER_OIB = '11111111119';

export function sample(name: string): string {
  return readFileSync(
    new URL(`../../fixtures/hr-einvoice-samples/${name}`, import.meta.url),
    'utf8',
  );
}

/** The invoice with another number, so that several can be told apart. */
export function numbered(xml: string, documentNumber: string): string {
  return xml.replace(
    /(<cbc:ID>)[^<]*(<\/cbc:ID>)/,
    (_m, open: string, close: string) => `${open}${documentNumber}${close}`,
  );
}

const vault = new Vault(ringOf(masterKeys('v1'), ['v1']));
let accounts = 0;

/**
 * Seals `secret` for a fresh account and returns the vault's capability
 * for it, exactly as the gate would hand it to a client.
 */
export function authoriserFor(secret: string | Buffer): RequestAuthoriser {
  accounts += 1;
  const binding: SecretBinding = {
    purpose: 'integration-account',
    companyId: `co_test_${accounts}`,
    accountId: `ia_test_${accounts}`,
  };
  return vault.apiKeyAuthoriser(vault.seal(secret, binding), binding);
}

/** The rejection of `promise`, which must be a TenantGateError. */
export async function failure(
  promise: Promise<unknown>,
): Promise<TenantGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TenantGateError);
  return error as TenantGateError;
}

/** Fails if any error, serialised or inspected, shows one of `texts`. */
export function expectNoneShows(
  errors: TenantGateError[],
  texts: string[],
): void {
  for (const error of errors) {
    const shown = [JSON.stringify(error), inspect(error, { depth: 10 })];
    for (const text of shown) {
      for (const secret of texts) expect(text).not.toContain(secret);
      expect(text).not.toContain('<Invoice');
    }
  }
}
