import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors/catalogue.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  envelopeKeyVersion,
  openEnvelope,
  rewrapEnvelope,
  sealEnvelope,
  type SecretBinding,
} from '../../src/vault/envelope.js';
import { masterKeys, ringOf } from './rings.js';

const keys = masterKeys('v1', 'v2');
const ring = ringOf(keys, ['v1', 'v2']);
const account: SecretBinding = {
  purpose: 'integration-account',
  companyId: 'co_a',
  accountId: 'acc_1',
};
const SECRET = Buffer.from('api-key-0123456789abcdef');

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (error) {
    if (error instanceof TenantGateError) return error.code;
    throw error;
  }
}

function errorOf(fn: () => unknown): TenantGateError {
  try {
    fn();
  } catch (error) {
    return error as TenantGateError;
  }
  throw new Error('expected a failure');
}

describe('sealing and opening', () => {
  it('opens what it sealed, for text and arbitrary bytes', () => {
    const binary = randomBytes(2048);

    const text = openEnvelope(
      ring,
      sealEnvelope(ring, SECRET, account),
      account,
    );
    const bytes = openEnvelope(
      ring,
      sealEnvelope(ring, binary, account),
      account,
    );

    expect(text.equals(SECRET)).toBe(true);
    expect(bytes.equals(binary)).toBe(true);
  });

  it('is one compact string naming the active key version', () => {
    const envelope = sealEnvelope(ring, SECRET, account);

    expect(envelope).toMatch(/^tgv1\.v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(envelopeKeyVersion(envelope)).toBe('v2');
    expect(envelope).not.toContain(SECRET.toString('base64url'));
  });

  it('seals the same secret differently every time', () => {
    expect(sealEnvelope(ring, SECRET, account)).not.toBe(
      sealEnvelope(ring, SECRET, account),
    );
  });
});

describe('a changed envelope never opens', () => {
  it('fails with VAULT_SECRET_UNREADABLE when any character is changed', () => {
    const envelope = sealEnvelope(ring, SECRET, account);
    const versionStart = 'tgv1.'.length;
    const versionEnd = versionStart + 'v2'.length;

    for (let i = 0; i < envelope.length; i++) {
      const replacement = envelope[i] === 'A' ? 'B' : 'A';
      const tampered =
        envelope.slice(0, i) + replacement + envelope.slice(i + 1);

      const code = codeOf(() => openEnvelope(ring, tampered, account));

      // A changed version names a key the ring lacks.
      const inVersion = i >= versionStart && i < versionEnd;
      const expected = inVersion
        ? 'VAULT_KEY_MISSING'
        : 'VAULT_SECRET_UNREADABLE';
      expect({ i, code }).toEqual({ i, code: expected });
    }
  });

  it('fails with VAULT_SECRET_UNREADABLE when any decoded byte flips', () => {
    const envelope = sealEnvelope(ring, SECRET, account);
    const [format, version, wrapped, sealed] = envelope.split('.');

    for (const part of [2, 3]) {
      const bytes = Buffer.from(part === 2 ? wrapped! : sealed!, 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        const flipped = Buffer.from(bytes);
        flipped[i] = flipped[i]! ^ 0x01;
        const parts = [format, version, wrapped, sealed];
        parts[part] = flipped.toString('base64url');

        const code = codeOf(() => openEnvelope(ring, parts.join('.'), account));

        expect({ part, i, code }).toEqual({
          part,
          i,
          code: 'VAULT_SECRET_UNREADABLE',
        });
      }
    }
  });

  it('rejects something that is not an envelope', () => {
    for (const value of ['', 'plain-api-key', 'tgv1.v2.abc', 'tgv2.v2.a.b']) {
      expect(codeOf(() => openEnvelope(ring, value, account))).toBe(
        'VAULT_SECRET_UNREADABLE',
      );
    }
  });
});

describe('a ciphertext is bound to its owner', () => {
  const envelope = sealEnvelope(ring, SECRET, account);

  it('does not open for another account of the same company', () => {
    const other = { ...account, accountId: 'acc_2' };

    expect(codeOf(() => openEnvelope(ring, envelope, other))).toBe(
      'VAULT_SECRET_UNREADABLE',
    );
  });

  it('does not open for the same account id under another company', () => {
    const other = { ...account, companyId: 'co_b' };

    expect(codeOf(() => openEnvelope(ring, envelope, other))).toBe(
      'VAULT_SECRET_UNREADABLE',
    );
  });

  it('does not open for another purpose of the same company', () => {
    const legacy: SecretBinding = {
      purpose: 'legacy-einvoice-key',
      companyId: 'co_a',
    };
    const sealedLegacy = sealEnvelope(ring, SECRET, legacy);

    expect(
      codeOf(() =>
        openEnvelope(ring, sealedLegacy, {
          purpose: 'legacy-fiscal-certificate',
          companyId: 'co_a',
        }),
      ),
    ).toBe('VAULT_SECRET_UNREADABLE');
  });

  it('names the owner and key version, never bytes, when it fails', () => {
    const other = { ...account, companyId: 'co_b' };
    const error = errorOf(() => openEnvelope(ring, envelope, other));

    expect(error.details).toMatchObject({
      keyVersion: 'v2',
      purpose: 'integration-account',
      companyId: 'co_b',
      accountId: 'acc_1',
    });
    const shown = JSON.stringify(error) + error.message;
    expect(shown).not.toContain(envelope.split('.')[3]);
  });

  it('refuses an account secret without an account id', () => {
    const incomplete = { purpose: 'integration-account', companyId: 'co_a' };

    expect(
      codeOf(() => sealEnvelope(ring, SECRET, incomplete as SecretBinding)),
    ).toBe('INVALID_INPUT');
  });
});

describe('master keys', () => {
  it('fails with VAULT_SECRET_UNREADABLE under a wrong key of that version', () => {
    const impostor = ringOf(masterKeys('v1', 'v2'), ['v1', 'v2']);
    const envelope = sealEnvelope(ring, SECRET, account);

    expect(codeOf(() => openEnvelope(impostor, envelope, account))).toBe(
      'VAULT_SECRET_UNREADABLE',
    );
  });

  it('fails with VAULT_KEY_MISSING for a version the ring lacks', () => {
    const envelope = sealEnvelope(ring, SECRET, account);
    const onlyV1 = ringOf(keys, ['v1']);

    const error = errorOf(() => openEnvelope(onlyV1, envelope, account));

    expect(error.code).toBe('VAULT_KEY_MISSING');
    expect(error.details).toMatchObject({
      keyVersion: 'v2',
      companyId: 'co_a',
      accountId: 'acc_1',
    });
  });

  it('re-wraps to the active version without touching the sealed secret', () => {
    const old = sealEnvelope(ringOf(keys, ['v1']), SECRET, account);

    const moved = rewrapEnvelope(ring, old, account);

    expect(envelopeKeyVersion(moved)).toBe('v2');
    expect(moved.split('.')[3]).toBe(old.split('.')[3]);
    expect(moved.split('.')[2]).not.toBe(old.split('.')[2]);
    const v2Only = ringOf(keys, ['v2']);
    expect(openEnvelope(v2Only, moved, account).equals(SECRET)).toBe(true);
  });

  it('does not re-wrap an envelope sealed for another owner', () => {
    const old = sealEnvelope(ringOf(keys, ['v1']), SECRET, account);
    const other = { ...account, accountId: 'acc_2' };

    expect(codeOf(() => rewrapEnvelope(ring, old, other))).toBe(
      'VAULT_SECRET_UNREADABLE',
    );
  });
});
