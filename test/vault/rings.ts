import { randomBytes } from 'node:crypto';
import { KeyRing } from '../../src/vault/key-ring.js';

/** Fresh random master keys by version, for building rings in tests. */
export function masterKeys(...versions: string[]): Map<string, Buffer> {
  return new Map(versions.map((v) => [v, randomBytes(32)]));
}

/**
 * A ring over some of `keys`; the active version defaults to the last
 * one named.
 */
export function ringOf(
  keys: Map<string, Buffer>,
  versions: string[],
  active: string = versions.at(-1) as string,
): KeyRing {
  const chosen = new Map(versions.map((v) => [v, keys.get(v) as Buffer]));
  return new KeyRing(chosen, active);
}

/** `TENANTGATE_VAULT_KEYS` syntax for `keys`. */
export function keyList(keys: Map<string, Buffer>): string {
  return [...keys]
    .map(([v, bytes]) => `${v}:${bytes.toString('base64')}`)
    .join(',');
}
