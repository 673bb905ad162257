import { readdirSync, readFileSync } from 'node:fs';

/**
 * A secret the tests use: a fixed value, or a pattern for values made
 * at random (API keys from `newApiKey`, issued API tokens).
 */
export interface KnownSecret {
  /** What it is, e.g. `PKCS#12 password tenant-a.p12`. Never the value. */
  label: string;
  value?: string;
  pattern?: RegExp;
  /**
   * True where an API response or a CLI's output may carry it by
   * design (a token is shown once, when it is issued). Logs never may.
   * Default false.
   */
  allowedInResponses?: boolean;
}

const CERTS_DIR = new URL('../../fixtures/cis/certs/', import.meta.url);

/** PKCS#12 passwords of fixtures/cis/certs (fixtures/README.md). */
export const FIXTURE_P12_PASSWORDS: Record<string, string> = {
  'tenant-a.p12': 'demo-pass-A',
  'tenant-b-legacy.p12': 'demo-pass-B',
  'tenant-c-expired.p12': 'demo-pass-C',
  'tenant-d-no-oib.p12': 'demo-pass-D',
  'tenant-a-utf8-password.p12': 'Šifra-čćž-2026',
};

/** Literal secrets written into test files. */
const TEST_LITERALS: Record<string, string> = {
  'Coolify API token (deploy-hooks test)': 'secret-token-abcdef',
};

const registered: KnownSecret[] = [];

/**
 * Adds a secret made during a test (a master key, a generated key) to
 * the scan of this test file. Values shorter than 8 characters are
 * ignored: they would match innocent text.
 */
export function registerSecret(label: string, value: string): void {
  if (value.length < 8) return;
  registered.push({ label, value });
}

/**
 * Every secret the tests use: fixture passwords and private keys, the
 * literals of test files, the shapes of generated keys and tokens, and
 * whatever this test file registered.
 */
export function knownSecrets(): KnownSecret[] {
  return [
    ...Object.entries(FIXTURE_P12_PASSWORDS).map(([file, value]) => ({
      label: `PKCS#12 password ${file}`,
      value,
    })),
    ...fixtureKeyMaterial(),
    ...Object.entries(TEST_LITERALS).map(([label, value]) => ({
      label,
      value,
    })),
    {
      label: 'intermediary API key (newApiKey)',
      pattern: /ep-[a-z0-9-]+-[0-9a-f]{24}/,
    },
    {
      label: 'TenantGate API token',
      pattern: /tg[ot]_[0-9a-f]{64}/,
      allowedInResponses: true,
    },
    { label: 'PEM private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
    {
      label: 'vault master key list (TENANTGATE_VAULT_KEYS)',
      pattern: /v\d+:[A-Za-z0-9+/]{43}=/,
    },
    ...registered,
  ];
}

let keyMaterial: KnownSecret[] | undefined;

/**
 * A fingerprint of each fixture private key (one base64 line from its
 * middle) and of each PKCS#12 file (a slice of its base64), so key
 * material is found whether logged as PEM or as base64.
 */
function fixtureKeyMaterial(): KnownSecret[] {
  keyMaterial ??= readdirSync(CERTS_DIR).flatMap((file) => {
    if (file.endsWith('.key')) {
      const lines = readFileSync(new URL(file, CERTS_DIR), 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('-----'));
      const middle = lines[Math.floor(lines.length / 2)] ?? '';
      return [{ label: `private key ${file}`, value: middle }];
    }
    if (file.endsWith('.p12')) {
      const b64 = readFileSync(new URL(file, CERTS_DIR)).toString('base64');
      return [{ label: `PKCS#12 file ${file}`, value: b64.slice(300, 348) }];
    }
    return [];
  });
  return keyMaterial;
}
