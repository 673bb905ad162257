import { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { inspect } from 'node:util';
import type { OpenedPkcs12 } from '../fiscal/pkcs12.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { SecretBinding } from './envelope.js';
import type {
  CertificateSigner,
  RequestAuthoriser,
  TlsAgentOptions,
} from './vault.js';

/** Visible ASCII, no leading or trailing space: a valid header value. */
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A credential set: the sealed secret of an intermediary whose
 * credentials are several named values, as JSON
 * `{"headers": {name: value}, "body": {name: value}}` (either part may
 * be missing). Header names are sent lowercased; body fields keep their
 * wire names. The client of each intermediary documents its set.
 */
export interface CredentialSet {
  headers: Record<string, string>;
  body: Record<string, string>;
}

/** Whether opened secret bytes look like a credential set (JSON). */
export function isCredentialSet(bytes: Buffer): boolean {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d);
  return first === 0x7b; // '{'
}

/**
 * Parses a credential set; throws VAULT_SECRET_INVALID naming only the
 * rule broken, never a value.
 */
export function parseCredentialSet(
  bytes: Buffer,
  binding: SecretBinding,
): CredentialSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes),
    );
  } catch {
    throw invalidSet(binding, 'json');
  }
  if (!isObject(parsed)) throw invalidSet(binding, 'object');
  const extra = Object.keys(parsed).filter(
    (k) => k !== 'headers' && k !== 'body',
  );
  if (extra.length > 0) throw invalidSet(binding, 'parts');

  const headers = stringFields(parsed.headers, binding, 'headers');
  const body = stringFields(parsed.body, binding, 'body');
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
      throw invalidSet(binding, 'header-value');
    }
  }
  if (Object.keys(headers).length + Object.keys(body).length === 0) {
    throw invalidSet(binding, 'empty');
  }
  const lowered = Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { headers: lowered, body };
}

/**
 * Adds a credential set to requests: its headers to `authorise`, its
 * body fields to `authoriseBody`. Reveals the values to nothing else.
 */
export class CredentialSetAuthoriser implements RequestAuthoriser {
  readonly keyVersion: string;
  readonly #set: CredentialSet;

  constructor(set: CredentialSet, keyVersion: string) {
    this.#set = set;
    this.keyVersion = keyVersion;
  }

  authorise(headers: Record<string, string>): void {
    Object.assign(headers, this.#set.headers);
  }

  authoriseBody(body: Record<string, unknown>): void {
    Object.assign(body, this.#set.body);
  }

  toJSON(): { authoriser: 'credential-set'; keyVersion: string } {
    return { authoriser: 'credential-set', keyVersion: this.keyVersion };
  }

  toString(): string {
    return `[CredentialSetAuthoriser keyVersion=${this.keyVersion}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Mutual TLS with a sealed PKCS#12 (FINA): `tlsAgent` builds an HTTPS
 * agent that presents the certificate (the key goes into the agent's
 * TLS context, nowhere else) and `signer` signs with the same key. It
 * adds no header.
 */
export class MutualTlsAuthoriser implements RequestAuthoriser {
  readonly keyVersion: string;
  readonly signer: CertificateSigner;
  readonly #opened: OpenedPkcs12;

  constructor(
    opened: OpenedPkcs12,
    signer: CertificateSigner,
    keyVersion: string,
  ) {
    this.#opened = opened;
    this.signer = signer;
    this.keyVersion = keyVersion;
  }

  authorise(): void {
    // The credential is the TLS client certificate, not a header.
  }

  tlsAgent(options: TlsAgentOptions = {}): Agent {
    const key = this.#opened.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const cert = new X509Certificate(this.#opened.certificateDer).toString();
    return new Agent({
      key,
      cert,
      ca: options.ca,
      minVersion: 'TLSv1.2',
      keepAlive: false,
    });
  }

  toJSON(): { authoriser: 'mutual-tls'; keyVersion: string } {
    return { authoriser: 'mutual-tls', keyVersion: this.keyVersion };
  }

  toString(): string {
    return `[MutualTlsAuthoriser ${this.signer.certificate.subject} keyVersion=${this.keyVersion}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function stringFields(
  value: unknown,
  binding: SecretBinding,
  part: string,
): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalidSet(binding, `${part}-object`);
  const entries = Object.entries(value);
  if (entries.some(([, v]) => typeof v !== 'string')) {
    throw invalidSet(binding, `${part}-strings`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidSet(binding: SecretBinding, rule: string): TenantGateError {
  return new TenantGateError(
    'VAULT_SECRET_INVALID',
    'The sealed credential set is not a JSON object of string headers and body fields',
    {
      rule: `credential-set-${rule}`,
      purpose: binding.purpose,
      companyId: binding.companyId,
      accountId: binding.accountId,
    },
  );
}
