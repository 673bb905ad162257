import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import {
  TenantGateError,
  invalidInput,
  type ErrorDetails,
} from '../errors/tenantgate-error.js';
import { KEY_VERSION_PATTERN, type KeyRing } from './key-ring.js';

/** What a sealed secret is for; part of the binding. */
export type SecretPurpose =
  'integration-account' | 'legacy-einvoice-key' | 'legacy-fiscal-certificate';

/**
 * The owner of a sealed secret. It is authenticated (AES-GCM additional
 * data) by both layers of the envelope, so a ciphertext copied to
 * another account, company or column does not open. `accountId` is
 * required for `integration-account` and absent for the legacy
 * company columns.
 */
export interface SecretBinding {
  purpose: SecretPurpose;
  companyId: string;
  accountId?: string;
}

/** The first segment of every envelope: the format version. */
export const ENVELOPE_FORMAT = 'tgv1';

const PURPOSES: readonly SecretPurpose[] = [
  'integration-account',
  'legacy-einvoice-key',
  'legacy-fiscal-certificate',
];
const ALGORITHM = 'aes-256-gcm';
const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + DATA_KEY_BYTES + TAG_BYTES;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface ParsedEnvelope {
  keyVersion: string;
  /** iv ‖ encrypted data key ‖ tag, under the master key. */
  wrapped: Buffer;
  /** iv ‖ encrypted secret ‖ tag, under the data key. */
  sealed: Buffer;
}

/**
 * Seals a secret: a fresh random data key encrypts it (AES-256-GCM), and
 * the ring's active master key wraps the data key (AES-256-GCM). The
 * result is one string, `tgv1.<keyVersion>.<wrapped key>.<sealed
 * secret>` (base64url parts), safe to store in a text column.
 */
export function sealEnvelope(
  ring: KeyRing,
  plaintext: Buffer,
  binding: SecretBinding,
): string {
  const aad = bindingText(binding);
  if (plaintext.length === 0) {
    throw invalidInput('plaintext', 'non-empty', 'A secret cannot be empty');
  }

  const dataKey = randomBytes(DATA_KEY_BYTES);
  try {
    const sealed = encrypt(dataKey, plaintext, dataAad(aad));
    return wrapAndFormat(ring, dataKey, sealed, aad);
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Opens an envelope sealed for `binding`. Internal to `vault/`: other
 * modules receive capabilities from the Vault, never plaintext.
 *
 * Throws VAULT_KEY_MISSING when the ring lacks the envelope's key
 * version, and VAULT_SECRET_UNREADABLE when the envelope is malformed,
 * tampered with, sealed for another binding or under another key.
 */
export function openEnvelope(
  ring: KeyRing,
  envelope: string,
  binding: SecretBinding,
): Buffer {
  return openSealed(ring, envelope, binding).plaintext;
}

/**
 * `openEnvelope`, also returning the master key version that opened
 * it, from the one parse of the envelope.
 */
export function openSealed(
  ring: KeyRing,
  envelope: string,
  binding: SecretBinding,
): { keyVersion: string; plaintext: Buffer } {
  const aad = bindingText(binding);
  const parsed = parseEnvelope(envelope, binding);
  const masterKey = masterKeyFor(ring, parsed.keyVersion, binding);

  const dataKey = unwrapDataKey(masterKey, parsed, aad, binding);
  try {
    const plaintext = decryptOrThrow(
      dataKey,
      parsed.sealed,
      dataAad(aad),
      (cause) => unreadable(parsed.keyVersion, binding, 'secret', cause),
    );
    return { keyVersion: parsed.keyVersion, plaintext };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-wraps the data key of an envelope under the ring's active master
 * version; the sealed secret is carried over byte for byte. The whole
 * envelope is authenticated first, so a damaged or misplaced secret
 * fails here (same errors as `openEnvelope`) instead of being
 * re-wrapped and discovered later.
 */
export function rewrapEnvelope(
  ring: KeyRing,
  envelope: string,
  binding: SecretBinding,
): string {
  const aad = bindingText(binding);
  const parsed = parseEnvelope(envelope, binding);
  const masterKey = masterKeyFor(ring, parsed.keyVersion, binding);

  const dataKey = unwrapDataKey(masterKey, parsed, aad, binding);
  try {
    const plaintext = decryptOrThrow(
      dataKey,
      parsed.sealed,
      dataAad(aad),
      (cause) => unreadable(parsed.keyVersion, binding, 'secret', cause),
    );
    plaintext.fill(0);
    return wrapAndFormat(ring, dataKey, parsed.sealed, aad);
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The master key version an envelope was sealed with, read from its
 * header without decrypting. Throws VAULT_SECRET_UNREADABLE when the
 * value is not an envelope.
 */
export function envelopeKeyVersion(envelope: string): string {
  return parseEnvelope(envelope).keyVersion;
}

/**
 * The header every envelope sealed with `keyVersion` starts with, for
 * queries that count envelopes per version without parsing them.
 */
export function envelopePrefix(keyVersion: string): string {
  return `${ENVELOPE_FORMAT}.${keyVersion}.`;
}

/**
 * The binding as authenticated bytes: a JSON array in fixed order, so
 * equal bindings always serialise alike and no two differ only in
 * their separators. Throws INVALID_INPUT for an incomplete binding.
 */
export function canonicalBinding(binding: SecretBinding): Buffer {
  return Buffer.from(bindingText(binding));
}

/** `canonicalBinding` as text, which the AAD strings are built from. */
function bindingText(binding: SecretBinding): string {
  const { purpose, companyId, accountId } = binding;
  if (!PURPOSES.includes(purpose)) {
    throw invalidInput('binding.purpose', 'enum', 'Unknown secret purpose', {
      purpose,
    });
  }
  if (typeof companyId !== 'string' || companyId === '') {
    throw invalidInput(
      'binding.companyId',
      'required',
      'A sealed secret must be bound to a company',
    );
  }
  const forAccount = purpose === 'integration-account';
  if (forAccount !== (typeof accountId === 'string' && accountId !== '')) {
    throw invalidInput(
      'binding.accountId',
      forAccount ? 'required' : 'forbidden',
      forAccount
        ? 'An integration account secret must be bound to its account'
        : 'A legacy company secret is bound to the company, not an account',
      { purpose },
    );
  }
  return JSON.stringify([purpose, companyId, accountId ?? null]);
}

/** The secret's AAD: a fixed label, then the binding. One buffer. */
function dataAad(binding: string): Buffer {
  return Buffer.from(`${ENVELOPE_FORMAT}:data:${binding}`);
}

/** The data key's AAD: a label with the key version, then the binding. */
function wrapAad(keyVersion: string, binding: string): Buffer {
  return Buffer.from(`${ENVELOPE_FORMAT}:key:${keyVersion}:${binding}`);
}

function wrapAndFormat(
  ring: KeyRing,
  dataKey: Buffer,
  sealed: Buffer,
  binding: string,
): string {
  const version = ring.activeVersion;
  const masterKey = ring.masterKey(version);
  const wrapped = encrypt(masterKey, dataKey, wrapAad(version, binding));
  return [
    ENVELOPE_FORMAT,
    version,
    wrapped.toString('base64url'),
    sealed.toString('base64url'),
  ].join('.');
}

/** The ring's key, or VAULT_KEY_MISSING naming the secret's owner. */
function masterKeyFor(
  ring: KeyRing,
  keyVersion: string,
  binding: SecretBinding,
): KeyObject {
  if (ring.has(keyVersion)) return ring.masterKey(keyVersion);
  throw new TenantGateError(
    'VAULT_KEY_MISSING',
    `The secret was sealed with master key version "${keyVersion}", which the vault's key ring does not hold`,
    { ...bindingDetails(binding), keyVersion, knownVersions: ring.versions },
  );
}

function bindingDetails(binding: SecretBinding): ErrorDetails {
  const details: ErrorDetails = {
    purpose: binding.purpose,
    companyId: binding.companyId,
  };
  if (binding.accountId !== undefined) details.accountId = binding.accountId;
  return details;
}

function unwrapDataKey(
  masterKey: KeyObject,
  parsed: ParsedEnvelope,
  aad: string,
  binding: SecretBinding,
): Buffer {
  return decryptOrThrow(
    masterKey,
    parsed.wrapped,
    wrapAad(parsed.keyVersion, aad),
    (cause) => unreadable(parsed.keyVersion, binding, 'data-key', cause),
  );
}

/** iv ‖ ciphertext ‖ tag. */
function encrypt(key: KeyObject | Buffer, plaintext: Buffer, aad: Buffer) {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decryptOrThrow(
  key: KeyObject | Buffer,
  box: Buffer,
  aad: Buffer,
  failure: (cause: unknown) => TenantGateError,
): Buffer {
  const iv = box.subarray(0, IV_BYTES);
  const body = box.subarray(IV_BYTES, box.length - TAG_BYTES);
  const tag = box.subarray(box.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (error) {
    // node:crypto's messages name no bytes: safe to keep as the cause.
    throw failure(error);
  }
}

function parseEnvelope(
  envelope: string,
  binding?: SecretBinding,
): ParsedEnvelope {
  const parts = typeof envelope === 'string' ? envelope.split('.') : [];
  const [format, keyVersion, wrapped, sealed] = parts;
  const wellFormed =
    parts.length === 4 &&
    format === ENVELOPE_FORMAT &&
    KEY_VERSION_PATTERN.test(keyVersion ?? '');
  if (!wellFormed) throw unreadable(undefined, binding, 'malformed');

  const wrappedBytes = decodeStrict(wrapped as string);
  const sealedBytes = decodeStrict(sealed as string);
  const complete =
    wrappedBytes?.length === WRAPPED_BYTES &&
    sealedBytes !== undefined &&
    sealedBytes.length > IV_BYTES + TAG_BYTES;
  if (!complete) throw unreadable(keyVersion, binding, 'malformed');

  return {
    keyVersion: keyVersion as string,
    wrapped: wrappedBytes,
    sealed: sealedBytes,
  };
}

/**
 * base64url that re-encodes to itself, so that no two strings decode
 * to the same bytes and every character of an envelope is covered by
 * authentication.
 */
function decodeStrict(part: string): Buffer | undefined {
  if (!BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

function unreadable(
  keyVersion: string | undefined,
  binding: SecretBinding | undefined,
  stage: 'malformed' | 'data-key' | 'secret',
  cause?: unknown,
): TenantGateError {
  const details: ErrorDetails = {
    ...(binding ? bindingDetails(binding) : {}),
    stage,
  };
  if (keyVersion !== undefined) details.keyVersion = keyVersion;
  const message =
    stage === 'malformed'
      ? 'The sealed secret is not a vault envelope'
      : 'The sealed secret does not open: wrong master key, tampered ciphertext, or sealed for another account or company';
  return new TenantGateError(
    'VAULT_SECRET_UNREADABLE',
    message,
    details,
    cause === undefined ? undefined : { cause },
  );
}
