import { createHash } from 'node:crypto';
import type { AccountEnvironment } from '../accounts/kinds.js';
import { zagrebZkiTime } from './zagreb-time.js';

/** The RSA signature hashes CIS accepts. */
export type SignatureHash = 'sha1' | 'sha256';

/** Anything that signs bytes with RSA PKCS#1 v1.5 (the vault signer). */
export interface RsaSigner {
  sign(data: Buffer, hash: SignatureHash): Buffer;
}

/** The receipt fields the ZKI covers. */
export interface ZkiInput {
  /** The issuer's OIB (11 digits). */
  oib: string;
  /** The issue instant; formatted in Europe/Zagreb. */
  issuedAt: Date;
  /** `BrOznRac`: the receipt's sequence number. */
  brOznRac: string;
  /** `OznPosPr`: the business premises code. */
  oznPosPr: string;
  /** `OznNapUr`: the device code. */
  oznNapUr: string;
  /** `IznosUkupno` exactly as sent (`-105.50`). */
  iznosUkupno: string;
}

/**
 * When SHA-1 stops being accepted, per account environment: the test
 * service from 2026-07-01, production from 2027-01-01, each at
 * midnight in Zagreb.
 */
export interface HashPolicy {
  sha256From: Record<AccountEnvironment, Date>;
}

/** The policy of CIS spec v2.7. */
export const DEFAULT_HASH_POLICY: HashPolicy = {
  sha256From: {
    TEST: new Date('2026-06-30T22:00:00Z'),
    PROD: new Date('2026-12-31T23:00:00Z'),
  },
};

/**
 * The hash for the ZKI and the XML signature at `at` for an account
 * environment: SHA-256 from the policy's date on, SHA-1 before it
 * (what the service expected then).
 */
export function signatureHashFor(
  at: Date,
  environment: AccountEnvironment,
  policy: HashPolicy = DEFAULT_HASH_POLICY,
): SignatureHash {
  return at.getTime() >= policy.sha256From[environment].getTime()
    ? 'sha256'
    : 'sha1';
}

/**
 * The ZKI signed string: OIB, the Zagreb issue time with a space,
 * BrOznRac, OznPosPr, OznNapUr and IznosUkupno, without separators.
 */
export function zkiSignedString(input: ZkiInput): string {
  return (
    input.oib +
    zagrebZkiTime(input.issuedAt) +
    input.brOznRac +
    input.oznPosPr +
    input.oznNapUr +
    input.iznosUkupno
  );
}

/**
 * The ZKI: MD5, as 32 lowercase hex characters, of the RSA PKCS#1 v1.5
 * signature over the signed string (UTF-8) with the chosen hash.
 */
export function computeZki(
  signer: RsaSigner,
  input: ZkiInput,
  hash: SignatureHash,
): string {
  const signed = Buffer.from(zkiSignedString(input), 'utf8');
  const signature = signer.sign(signed, hash);
  return createHash('md5').update(signature).digest('hex');
}
