import {
  createHmac,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import type { Settings } from '../config/settings.js';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** A master key is 256 bits. */
export const MASTER_KEY_BYTES = 32;

/**
 * What a key version may be called: it is written into every envelope
 * header, so no dots, colons or spaces.
 */
export const KEY_VERSION_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const KEYS_VAR = 'TENANTGATE_VAULT_KEYS';
const ACTIVE_VAR = 'TENANTGATE_VAULT_ACTIVE_KEY';
const FILE_VAR = 'TENANTGATE_VAULT_KEY_FILE';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The versioned master keys of the vault, one of them active. New
 * secrets are sealed with the active version; older versions stay so
 * that secrets sealed with them still open until rotation re-wraps
 * them. Key material lives in private KeyObjects: inspecting or
 * serialising a ring shows only the version names.
 */
export class KeyRing {
  /** The version new envelopes are sealed with. */
  readonly activeVersion: string;
  readonly #keys: ReadonlyMap<string, KeyObject>;

  /**
   * @param keys raw 32-byte keys by version name (copied, not kept)
   * @param activeVersion must be one of `keys`
   * @param source what configured the ring, named in errors; default
   *   `key ring`
   */
  constructor(
    keys: ReadonlyMap<string, Buffer>,
    activeVersion: string,
    source = 'key ring',
  ) {
    const objects = new Map<string, KeyObject>();
    for (const [version, bytes] of keys) {
      assertVersionName(version, source);
      if (bytes.length !== MASTER_KEY_BYTES) {
        throw invalidKey(source, version);
      }
      objects.set(version, createSecretKey(bytes));
    }
    if (objects.size === 0) throw noKeyConfigured();
    if (!objects.has(activeVersion)) {
      throw new TenantGateError(
        'VAULT_CONFIG_INVALID',
        `${ACTIVE_VAR}: the active key version "${activeVersion}" is not among the configured versions (${[...objects.keys()].join(', ')})`,
        {
          variable: ACTIVE_VAR,
          keyVersion: activeVersion,
          knownVersions: [...objects.keys()],
        },
      );
    }
    this.#keys = objects;
    this.activeVersion = activeVersion;
  }

  /** Every configured version, in configuration order. */
  get versions(): string[] {
    return [...this.#keys.keys()];
  }

  has(version: string): boolean {
    return this.#keys.has(version);
  }

  /**
   * A key check value of one version: the first 16 bytes (hex) of an
   * HMAC-SHA256 of a fixed label under the master key. It tells two
   * keys apart without revealing either, so a record of "this envelope
   * opened under key X" can be matched against the ring later. Throws
   * VAULT_KEY_MISSING for a version the ring lacks.
   */
  keyCheck(version: string): string {
    return createHmac('sha256', this.masterKey(version))
      .update('tenantgate key check value')
      .digest('hex')
      .slice(0, 32);
  }

  /**
   * The master key of one version, for the envelope code in `vault/`
   * only. Throws VAULT_KEY_MISSING for a version the ring lacks.
   */
  masterKey(version: string): KeyObject {
    const key = this.#keys.get(version);
    if (key) return key;
    throw new TenantGateError(
      'VAULT_KEY_MISSING',
      `The vault has no master key version "${version}"; add it to ${KEYS_VAR} or the key file`,
      { keyVersion: version, knownVersions: this.versions },
    );
  }

  toJSON(): { activeVersion: string; versions: string[] } {
    return { activeVersion: this.activeVersion, versions: this.versions };
  }

  toString(): string {
    return `KeyRing(active ${this.activeVersion} of ${this.versions.join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Parses `TENANTGATE_VAULT_KEYS`: `v1:<base64>,v2:<base64>`, each key 32
 * bytes. The active version is `activeKey` when given, otherwise the
 * last listed.
 */
export function parseKeyList(value: string, activeKey?: string): KeyRing {
  const keys = new Map<string, Buffer>();
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      throw new TenantGateError(
        'VAULT_CONFIG_INVALID',
        `${KEYS_VAR}: each entry must be <version>:<base64 key>, e.g. v1:$(openssl rand -base64 32)`,
        { variable: KEYS_VAR, entry: keys.size + 1 },
      );
    }
    const version = entry.slice(0, colon).trim();
    assertVersionName(version, KEYS_VAR);
    if (keys.has(version)) throw duplicateVersion(KEYS_VAR, version);
    keys.set(
      version,
      decodeKey(entry.slice(colon + 1).trim(), KEYS_VAR, version),
    );
  }
  if (keys.size === 0) throw noKeyConfigured();
  const active = activeKey ?? [...keys.keys()].at(-1);
  return new KeyRing(keys, active as string, KEYS_VAR);
}

/**
 * Reads a key file: JSON `{"active":"v2","keys":{"v1":"<base64>",...}}`.
 * `activeKey` (from `TENANTGATE_VAULT_ACTIVE_KEY`) overrides the file's
 * `active`, so a rotation can flip the version without editing the file.
 */
export function readKeyFile(path: string, activeKey?: string): KeyRing {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TenantGateError(
      'VAULT_CONFIG_INVALID',
      `${FILE_VAR}: cannot read the key file ${path}`,
      { variable: FILE_VAR, path },
      { cause: error },
    );
  }
  const parsed = parseKeyFileJson(text, path);
  const keys = new Map<string, Buffer>();
  for (const [version, encoded] of Object.entries(parsed.keys)) {
    assertVersionName(version, FILE_VAR);
    keys.set(version, decodeKey(encoded, FILE_VAR, version));
  }
  const active = activeKey ?? parsed.active;
  return new KeyRing(keys, active, FILE_VAR);
}

/**
 * The key ring from settings: `TENANTGATE_VAULT_KEYS` or
 * `TENANTGATE_VAULT_KEY_FILE` (setting both is refused, so no one
 * wonders which wins), with `TENANTGATE_VAULT_ACTIVE_KEY` choosing the
 * active version. Throws VAULT_KEY_MISSING when neither is set.
 */
export function loadKeyRing(config: Settings['vault']): KeyRing {
  const keys = config.keys?.trim() || undefined;
  const keyFile = config.keyFile?.trim() || undefined;
  const activeKey = config.activeKey?.trim() || undefined;
  if (keys && keyFile) {
    throw new TenantGateError(
      'VAULT_CONFIG_INVALID',
      `Set either ${KEYS_VAR} or ${FILE_VAR}, not both`,
      { variable: KEYS_VAR },
    );
  }
  if (keys) return parseKeyList(keys, activeKey);
  if (keyFile) return readKeyFile(keyFile, activeKey);
  throw noKeyConfigured();
}

/**
 * For the embedded demo only: creates a key file with one fresh version
 * `v1` (mode 0600, parent folders as needed) unless a file exists at
 * `path`. Returns `created: true` when it generated a key, so the
 * caller can say so: a generated key that is lost takes every secret
 * sealed with it along.
 */
export function ensureLocalKeyFile(path: string): {
  path: string;
  created: boolean;
} {
  if (existsSync(path)) return { path, created: false };

  mkdirSync(dirname(path), { recursive: true });
  const content = JSON.stringify(
    {
      active: 'v1',
      keys: { v1: randomBytes(MASTER_KEY_BYTES).toString('base64') },
    },
    null,
    2,
  );
  let fd: number;
  try {
    // 'wx' fails if another process created the file meanwhile.
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return { path, created: false };
    }
    throw error;
  }
  try {
    writeSync(fd, `${content}\n`);
  } finally {
    closeSync(fd);
  }
  return { path, created: true };
}

function parseKeyFileJson(
  text: string,
  path: string,
): { active: string; keys: Record<string, string> } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the file, which holds key material:
    // neither the message nor the cause is kept.
    value = undefined;
  }
  const ok =
    isRecord(value) &&
    typeof value.active === 'string' &&
    isRecord(value.keys) &&
    Object.values(value.keys).every((k) => typeof k === 'string');
  if (!ok) {
    throw new TenantGateError(
      'VAULT_CONFIG_INVALID',
      `${FILE_VAR}: ${path} is not a key file; expected JSON {"active":"v1","keys":{"v1":"<base64 of 32 bytes>"}}`,
      { variable: FILE_VAR, path },
    );
  }
  return value as { active: string; keys: Record<string, string> };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeKey(encoded: string, source: string, version: string): Buffer {
  if (!BASE64.test(encoded)) throw invalidKey(source, version);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== MASTER_KEY_BYTES) throw invalidKey(source, version);
  return bytes;
}

function assertVersionName(version: string, source: string): void {
  if (KEY_VERSION_PATTERN.test(version)) return;
  throw new TenantGateError(
    'VAULT_CONFIG_INVALID',
    `${source}: key version names use letters, digits, "_" and "-" (1 to 32)`,
    // The bad name is not echoed: a misplaced key could be in it.
    { variable: source },
  );
}

function invalidKey(source: string, version: string): TenantGateError {
  return new TenantGateError(
    'VAULT_CONFIG_INVALID',
    `${source}: key version "${version}" is not ${MASTER_KEY_BYTES} bytes of base64 (generate one with: openssl rand -base64 32)`,
    { variable: source, keyVersion: version },
  );
}

function duplicateVersion(source: string, version: string): TenantGateError {
  return new TenantGateError(
    'VAULT_CONFIG_INVALID',
    `${source}: key version "${version}" is listed twice`,
    { variable: source, keyVersion: version },
  );
}

function noKeyConfigured(): TenantGateError {
  return new TenantGateError(
    'VAULT_KEY_MISSING',
    `No vault master key is configured: set ${KEYS_VAR}="v1:<base64 of 32 bytes>" (and ${ACTIVE_VAR} when several versions are listed) or ${FILE_VAR}=<path of a JSON key file>. Generate a key with: openssl rand -base64 32`,
    { variables: [KEYS_VAR, ACTIVE_VAR, FILE_VAR] },
  );
}
