import { sign, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Agent as HttpsAgent } from 'node:https';
import { inspect } from 'node:util';
import {
  isPkcs12Pack,
  openPkcs12,
  unpackPkcs12,
  type CertificateInfo,
  type OpenedPkcs12,
} from '../fiscal/pkcs12.js';
import type { SignatureHash } from '../fiscal/zki.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import {
  canonicalBinding,
  envelopeKeyVersion,
  openEnvelope,
  openSealed,
  rewrapEnvelope,
  sealEnvelope,
  type SecretBinding,
} from './envelope.js';
import type { KeyRing } from './key-ring.js';
import {
  CredentialSetAuthoriser,
  isCredentialSet,
  MutualTlsAuthoriser,
  parseCredentialSet,
} from './credential-authorisers.js';

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
  /**
   * Adds credential fields to a JSON request body (mutates it), for
   * protocols that carry them there (Moj-eRačun). Present only when the
   * secret is a credential set.
   */
  authoriseBody?(body: Record<string, unknown>): void;
  /**
   * An HTTPS agent presenting the tenant's client certificate (mutual
   * TLS, FINA). Present only when the secret is a PKCS#12.
   */
  tlsAgent?(options?: TlsAgentOptions): HttpsAgent;
  /** Signs with the same certificate key. Present with `tlsAgent`. */
  readonly signer?: CertificateSigner;
}

/** How a mutual-TLS agent checks the server. */
export interface TlsAgentOptions {
  /** CA certificates (PEM) the server's must chain to. Default: Node's. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * A capability that signs with a tenant's certificate key (RSA PKCS#1
 * v1.5) without handing the key out. It shows the certificate, which is
 * public, and never the private key or the PKCS#12 password.
 */
export interface CertificateSigner {
  /** The master key version the PKCS#12 was sealed with. */
  readonly keyVersion: string;
  /** Subject, issuer, decimal serial, validity and OIB. */
  readonly certificate: CertificateInfo;
  /** The certificate, DER (a fresh copy each call). */
  certificateDer(): Buffer;
  /** RSA PKCS#1 v1.5 signature over `data` with `hash`. */
  sign(data: Buffer, hash: SignatureHash): Buffer;
}

/** How many opened certificate keys the vault keeps. Default 256. */
const SIGNER_CACHE_SIZE = 256;

/** The longest an opened authoriser is reused: the route cache's 2 s. */
export const MAX_OPEN_CACHE_MS = 2000;

/** Visible ASCII, no leading or trailing space: a valid header value. */
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Strict UTF-8; `decode` keeps no state between whole-buffer calls. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface VaultOptions {
  /**
   * How long an authoriser opened by `apiKeyAuthoriser` is handed out
   * again for the very same envelope string and binding, in ms: at most
   * `MAX_OPEN_CACHE_MS`, 0 (the default) to open on every call.
   */
  openCacheMs?: number;
  /** Opened authorisers kept; the oldest go first. Default 1024. */
  openCacheSize?: number;
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** An authoriser opened for one envelope string and binding. */
interface OpenedEntry {
  purpose: string;
  companyId: string;
  accountId: string | undefined;
  authoriser: RequestAuthoriser;
  expiresAt: number;
}

/**
 * The only place TenantGate decrypts. It seals secrets for a binding
 * (company, account, purpose) and, instead of returning plaintext,
 * hands protocol clients a capability for the operation at hand.
 */
export class Vault {
  readonly #ring: KeyRing;
  /** Opened PKCS#12 files by binding and envelope (PBKDF2 is slow). */
  readonly #signers = new Map<string, OpenedPkcs12>();
  /** Opened authorisers by envelope string, for `openCacheMs`. */
  readonly #opened = new Map<string, OpenedEntry>();
  readonly #openCacheMs: number;
  readonly #openCacheSize: number;
  readonly #now: () => number;

  constructor(ring: KeyRing, options: VaultOptions = {}) {
    this.#ring = ring;
    this.#openCacheMs = Math.max(
      0,
      Math.min(options.openCacheMs ?? 0, MAX_OPEN_CACHE_MS),
    );
    this.#openCacheSize = options.openCacheSize ?? 1024;
    this.#now = options.now ?? (() => performance.now());
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
   * The key check value (`KeyRing.keyCheck`) of every master key
   * version the ring holds now.
   */
  keyChecks(): string[] {
    return this.#ring.versions.map((v) => this.#ring.keyCheck(v));
  }

  /**
   * Opens the envelope for `binding` and forgets the secret at once.
   * Returns the key check value of the master key that opened it, to
   * record that this very envelope opened under that key; null for
   * VAULT_SECRET_UNREADABLE and VAULT_KEY_MISSING. Other errors (an
   * incomplete binding) are thrown.
   */
  verify(envelope: string, binding: SecretBinding): string | null {
    try {
      openEnvelope(this.#ring, envelope, binding).fill(0);
      return this.#ring.keyCheck(envelopeKeyVersion(envelope));
    } catch (error) {
      if (isOpenFailure(error)) return null;
      throw error;
    }
  }

  /**
   * Seals a secret for a new owner: opens the envelope with `from`,
   * seals the same bytes for `to` under the active master key, and
   * zeroes the plaintext. The secret never leaves the vault. Used when
   * a legacy credential (bound to its company) becomes an integration
   * account's (bound to the account). Throws VAULT_SECRET_UNREADABLE /
   * VAULT_KEY_MISSING like opening, INVALID_INPUT for a bad binding.
   */
  reseal(envelope: string, from: SecretBinding, to: SecretBinding): string {
    canonicalBinding(to);
    const bytes = openEnvelope(this.#ring, envelope, from);
    try {
      return sealEnvelope(this.#ring, bytes, to);
    } finally {
      bytes.fill(0);
    }
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
   * A capability that authorises requests with an intermediary secret.
   * The secret's form decides how:
   * - a raw API key: `authorization` set to it (the ePoslovanje
   *   convention: no scheme);
   * - a credential set, JSON `{"headers": {…}, "body": {…}}`: headers
   *   and body fields added (Moj-eRačun, IE-Računi);
   * - a sealed PKCS#12 (`packPkcs12`): mutual TLS and signing with the
   *   certificate (FINA), see `tlsAgent` and `signer`.
   * The secret is opened now, so a missing key or bad envelope fails
   * before any network call, and is kept in a private field only.
   *
   * With `openCacheMs`, an authoriser opened for this exact envelope
   * string and binding less than that long ago (2 s at most) is handed
   * out again instead: any other string, a re-wrapped or tampered one
   * included, is opened afresh. Failures are never kept.
   *
   * Throws VAULT_SECRET_UNREADABLE / VAULT_KEY_MISSING when the envelope
   * does not open, VAULT_SECRET_INVALID when the secret is not a valid
   * header value or credential set, CERTIFICATE_INVALID for an unusable
   * PKCS#12.
   */
  apiKeyAuthoriser(
    envelope: string,
    binding: SecretBinding,
  ): RequestAuthoriser {
    if (this.#openCacheMs === 0) return this.#openAuthoriser(envelope, binding);
    const now = this.#now();
    this.#dropExpired(now);
    const hit = this.#opened.get(envelope);
    if (
      hit &&
      hit.purpose === binding.purpose &&
      hit.companyId === binding.companyId &&
      hit.accountId === binding.accountId
    ) {
      return hit.authoriser;
    }
    const authoriser = this.#openAuthoriser(envelope, binding);
    this.#opened.delete(envelope);
    if (this.#opened.size >= this.#openCacheSize) {
      const oldest = this.#opened.keys().next().value;
      if (oldest !== undefined) this.#opened.delete(oldest);
    }
    this.#opened.set(envelope, {
      purpose: binding.purpose,
      companyId: binding.companyId,
      accountId: binding.accountId,
      authoriser,
      expiresAt: now + this.#openCacheMs,
    });
    return authoriser;
  }

  /**
   * Drops expired authorisers. Entries are kept in the order they were
   * opened, all with the same lifetime, so the expired ones are first.
   */
  #dropExpired(now: number): void {
    for (const [envelope, entry] of this.#opened) {
      if (entry.expiresAt > now) return;
      this.#opened.delete(envelope);
    }
  }

  #openAuthoriser(envelope: string, binding: SecretBinding): RequestAuthoriser {
    const { keyVersion, plaintext: bytes } = openSealed(
      this.#ring,
      envelope,
      binding,
    );
    try {
      if (isPkcs12Pack(bytes)) {
        const opened = this.#openPkcs12(envelope, binding);
        const signer = new Pkcs12Signer(opened, keyVersion);
        return new MutualTlsAuthoriser(opened, signer, keyVersion);
      }
      if (isCredentialSet(bytes)) {
        const set = parseCredentialSet(bytes, binding);
        return new CredentialSetAuthoriser(set, keyVersion);
      }
      const apiKey = decodeApiKey(bytes, binding);
      return new ApiKeyAuthoriser(apiKey, keyVersion);
    } finally {
      bytes.fill(0);
    }
  }

  /**
   * A capability that signs with the key of a sealed PKCS#12 (packed
   * with its password by `packPkcs12`). The file is opened now, so a bad
   * envelope, password or certificate fails before any network call.
   * Opened files are kept (at most 256, by binding and envelope) since
   * PKCS#12 key derivation costs milliseconds per call.
   *
   * Throws VAULT_SECRET_UNREADABLE / VAULT_KEY_MISSING when the envelope
   * does not open, CERTIFICATE_INVALID when its content is no usable
   * PKCS#12 with an OIB.
   */
  signerFor(envelope: string, binding: SecretBinding): CertificateSigner {
    const opened = this.#openPkcs12(envelope, binding);
    return new Pkcs12Signer(opened, envelopeKeyVersion(envelope));
  }

  /** Opens a sealed PKCS#12, from the cache when it was opened before. */
  #openPkcs12(envelope: string, binding: SecretBinding): OpenedPkcs12 {
    const cacheKey = [
      binding.purpose,
      binding.companyId,
      binding.accountId ?? '',
      envelope,
    ].join('\n');
    const cached = this.#signers.get(cacheKey);
    if (cached) return cached;

    const bytes = openEnvelope(this.#ring, envelope, binding);
    let opened: OpenedPkcs12;
    try {
      const { file, password } = unpackPkcs12(bytes);
      opened = openPkcs12(file, password);
      file.fill(0);
    } finally {
      bytes.fill(0);
    }
    if (this.#signers.size >= SIGNER_CACHE_SIZE) {
      const oldest = this.#signers.keys().next().value;
      if (oldest !== undefined) this.#signers.delete(oldest);
    }
    this.#signers.set(cacheKey, opened);
    return opened;
  }

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

/** Signs with a PKCS#12 key; reveals the certificate, never the key. */
class Pkcs12Signer implements CertificateSigner {
  readonly keyVersion: string;
  readonly certificate: CertificateInfo;
  readonly #key: KeyObject;
  readonly #der: Buffer;

  constructor(opened: OpenedPkcs12, keyVersion: string) {
    this.#key = opened.privateKey;
    this.#der = opened.certificateDer;
    this.certificate = opened.info;
    this.keyVersion = keyVersion;
  }

  certificateDer(): Buffer {
    return Buffer.from(this.#der);
  }

  sign(data: Buffer, hash: SignatureHash): Buffer {
    return sign(hash, data, this.#key);
  }

  toJSON(): {
    signer: 'pkcs12';
    keyVersion: string;
    certificate: CertificateInfo;
  } {
    return {
      signer: 'pkcs12',
      keyVersion: this.keyVersion,
      certificate: this.certificate,
    };
  }

  toString(): string {
    return `[Pkcs12Signer ${this.certificate.subject} keyVersion=${this.keyVersion}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function decodeApiKey(bytes: Buffer, binding: SecretBinding): string {
  let apiKey: string | undefined;
  try {
    apiKey = UTF8.decode(bytes);
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
