import { inspect } from 'node:util';
import { TenantGateError } from '../errors/tenantgate-error.js';
import {
  envelopeKeyVersion,
  openEnvelope,
  rewrapEnvelope,
  sealEnvelope,
  type SecretBinding,
} from './envelope.js';
import type { KeyRing } from './key-ring.js';

/**
 * A capability that authorises one kind of request with a tenant's
 * secret without handing the secret out. Protocol clients call
 * `authorise` on the headers of each request they send.
 */
export interface RequestAuthoriser {
  /** The master key version the secret was sealed with. */
  readonly keyVersion: string;
  /** Adds the credential to `headers` (mutates it). */
  authorise(headers: Record<string, string>): void;
}

/** Visible ASCII, no leading or trailing space: a valid header value. */
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The only place TenantGate decrypts. It seals secrets for a binding
 * (company, account, purpose) and, instead of returning plaintext,
 * hands protocol clients a capability for the operation at hand.
 */
export class Vault {
  readonly #ring: KeyRing;

  constructor(ring: KeyRing) {
    this.#ring = ring;
  }

  /** The master key version `seal` and `rewrap` use. */
  get activeKeyVersion(): string {
    return this.#ring.activeVersion;
  }

  /**
   * Seals a secret for its owner under the active master key. Strings
   * are encoded as UTF-8. Returns the envelope to store.
   */
  seal(plaintext: string | Buffer, binding: SecretBinding): string {
    const bytes =
      typeof plaintext === 'string'
        ? Buffer.from(plaintext, 'utf8')
        : plaintext;
    return sealEnvelope(this.#ring, bytes, binding);
  }

  /**
   * Moves an envelope to the active master key version, leaving the
   * sealed secret itself unchanged. Authenticates the whole envelope
   * first: throws VAULT_SECRET_UNREADABLE or VAULT_KEY_MISSING like
   * opening would.
   */
  rewrap(envelope: string, binding: SecretBinding): string {
    return rewrapEnvelope(this.#ring, envelope, binding);
  }

  /** Whether an envelope is sealed with an older master key version. */
  needsRewrap(envelope: string): boolean {
    return envelopeKeyVersion(envelope) !== this.#ring.activeVersion;
  }

  /**
   * Whether the envelope opens for `binding` with this key ring: false
   * for VAULT_SECRET_UNREADABLE and VAULT_KEY_MISSING; other errors
   * (an incomplete binding) are thrown.
   */
  canOpen(envelope: string, binding: SecretBinding): boolean {
    try {
      openEnvelope(this.#ring, envelope, binding).fill(0);
      return true;
    } catch (error) {
      if (isOpenFailure(error)) return false;
      throw error;
    }
  }

  /**
   * A capability that sets `authorization` to the raw API key (the
   * ePoslovanje convention: no scheme). The secret is opened now, so a
   * missing key or bad envelope fails before any network call, and is
   * kept in a private field of the capability only.
   *
   * Throws VAULT_SECRET_UNREADABLE / VAULT_KEY_MISSING when the envelope
   * does not open, VAULT_SECRET_INVALID when the secret is not a valid
   * header value.
   */
  apiKeyAuthoriser(
    envelope: string,
    binding: SecretBinding,
  ): RequestAuthoriser {
    const bytes = openEnvelope(this.#ring, envelope, binding);
    try {
      const apiKey = decodeApiKey(bytes, binding);
      return new ApiKeyAuthoriser(apiKey, envelopeKeyVersion(envelope));
    } finally {
      bytes.fill(0);
    }
  }

  // The CIS signer capability (from a sealed PKCS#12) belongs here, next
  // to apiKeyAuthoriser: open, build the capability, hand it out.

  toJSON(): { activeKeyVersion: string } {
    return { activeKeyVersion: this.activeKeyVersion };
  }

  [inspect.custom](): string {
    return `Vault(${inspect(this.#ring)})`;
  }
}

/** Sets `authorization` to the raw API key; reveals it to nothing else. */
class ApiKeyAuthoriser implements RequestAuthoriser {
  readonly keyVersion: string;
  readonly #apiKey: string;

  constructor(apiKey: string, keyVersion: string) {
    this.#apiKey = apiKey;
    this.keyVersion = keyVersion;
  }

  authorise(headers: Record<string, string>): void {
    headers.authorization = this.#apiKey;
  }

  toJSON(): { authoriser: 'api-key'; keyVersion: string } {
    return { authoriser: 'api-key', keyVersion: this.keyVersion };
  }

  toString(): string {
    return `[ApiKeyAuthoriser keyVersion=${this.keyVersion}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function decodeApiKey(bytes: Buffer, binding: SecretBinding): string {
  let apiKey: string | undefined;
  try {
    apiKey = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    apiKey = undefined;
  }
  if (apiKey !== undefined && HEADER_VALUE.test(apiKey)) return apiKey;
  throw new TenantGateError(
    'VAULT_SECRET_INVALID',
    'The sealed API key is not a valid HTTP header value (visible ASCII, no surrounding spaces)',
    {
      purpose: binding.purpose,
      companyId: binding.companyId,
      accountId: binding.accountId,
    },
  );
}

function isOpenFailure(error: unknown): boolean {
  return (
    error instanceof TenantGateError &&
    (error.code === 'VAULT_SECRET_UNREADABLE' ||
      error.code === 'VAULT_KEY_MISSING')
  );
}
