import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeZki,
  signatureHashFor,
  zkiSignedString,
  type RsaSigner,
} from '../../src/fiscal/zki.js';
import {
  zagrebQrTime,
  zagrebXmlTime,
  zagrebZkiTime,
} from '../../src/fiscal/zagreb-time.js';

interface Vector {
  note: string;
  oib: string;
  issuedAt: string;
  zagrebLocal: string;
  datVrijeme: string;
  brOznRac: string;
  oznPosPr: string;
  oznNapUr: string;
  iznosUkupno: string;
  signedString: string;
  zkiRsaSha1: string;
  zkiRsaSha256: string;
}

const fixtures = new URL('../../fixtures/cis/', import.meta.url);
const vectors = (
  JSON.parse(readFileSync(new URL('zki-vectors.json', fixtures), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;
const key = createPrivateKey(
  readFileSync(new URL('certs/tenant-a.key', fixtures)),
);
const signer: RsaSigner = {
  sign: (data, hash) => sign(hash, data, key),
};

function input(v: Vector) {
  return {
    oib: v.oib,
    issuedAt: new Date(v.issuedAt),
    brOznRac: v.brOznRac,
    oznPosPr: v.oznPosPr,
    oznNapUr: v.oznNapUr,
    iznosUkupno: v.iznosUkupno,
  };
}

describe('ZKI known-answer vectors', () => {
  it('covers every vector of the fixture', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(12);
  });

  describe.each(vectors)('$note', (v) => {
    it('formats the instant as Zagreb wall-clock time', () => {
      expect(zagrebZkiTime(new Date(v.issuedAt))).toBe(v.zagrebLocal);
      expect(zagrebXmlTime(new Date(v.issuedAt))).toBe(v.datVrijeme);
    });

    it('builds the signed string', () => {
      expect(zkiSignedString(input(v))).toBe(v.signedString);
    });

    it('reproduces the RSA-SHA1 and RSA-SHA256 ZKI', () => {
      expect(computeZki(signer, input(v), 'sha1')).toBe(v.zkiRsaSha1);
      expect(computeZki(signer, input(v), 'sha256')).toBe(v.zkiRsaSha256);
    });
  });

  it('keeps a leading zero: always 32 lowercase hex characters', () => {
    const leading = vectors.filter(
      (v) => v.zkiRsaSha1.startsWith('0') || v.zkiRsaSha256.startsWith('0'),
    );
    expect(leading.length).toBeGreaterThan(0);
    for (const v of vectors) {
      expect(computeZki(signer, input(v), 'sha256')).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe('Zagreb time does not depend on the machine zone', () => {
  it('gives the same string whatever TZ says', () => {
    const instant = new Date('2026-10-25T00:30:00Z');
    const before = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      expect(zagrebZkiTime(instant)).toBe('25.10.2026 02:30:00');
    } finally {
      process.env.TZ = before;
    }
  });

  it('formats the QR date as yyyyMMdd_HHmm', () => {
    expect(zagrebQrTime(new Date('2026-12-31T23:15:00Z'))).toBe(
      '20270101_0015',
    );
  });
});

describe('signature hash policy', () => {
  it('requires SHA-256 on the test service from 2026-07-01 Zagreb', () => {
    expect(signatureHashFor(new Date('2026-06-30T21:59:59Z'), 'TEST')).toBe(
      'sha1',
    );
    expect(signatureHashFor(new Date('2026-06-30T22:00:00Z'), 'TEST')).toBe(
      'sha256',
    );
  });

  it('requires SHA-256 in production from 2027-01-01 Zagreb', () => {
    expect(signatureHashFor(new Date('2026-12-31T22:59:59Z'), 'PROD')).toBe(
      'sha1',
    );
    expect(signatureHashFor(new Date('2026-12-31T23:00:00Z'), 'PROD')).toBe(
      'sha256',
    );
  });
});
