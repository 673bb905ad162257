import { randomUUID } from 'node:crypto';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { racunZahtjevXml } from './racun.js';
import type { Receipt } from './receipt.js';
import { signCanonicalXml, type XmlSigner } from './xml-signature.js';
import { computeZki, type SignatureHash } from './zki.js';

/** A signed RacunZahtjev, ready to send, with what to store. */
export interface SignedRequest {
  xml: string;
  zki: string;
  messageId: string;
  hash: SignatureHash;
  lateDelivery: boolean;
}

export interface SignOptions {
  hash: SignatureHash;
  /** This send's time (`DatumVrijeme`). Default: now. */
  sentAt?: Date;
  /** The ZKI computed at issue; a resend must reuse it. Default: new. */
  zki?: string;
  /** `NakDost`. Default false. */
  lateDelivery?: boolean;
}

/**
 * Signs a receipt for one send: checks that the certificate is the
 * issuer's (CERTIFICATE_INVALID, rule `oib-matches-receipt`, before
 * anything is sent), computes the ZKI unless given, builds RacunZahtjev
 * with a fresh IdPoruke (already in canonical form) and signs it
 * without a generic canonicalizer.
 */
export function signedRacunZahtjev(
  receipt: Receipt,
  signer: XmlSigner,
  options: SignOptions,
): SignedRequest {
  if (signer.certificate.oib !== receipt.oib) {
    throw new TenantGateError(
      'CERTIFICATE_INVALID',
      "The certificate's OIB is not the receipt's issuer",
      {
        field: 'oib',
        rule: 'oib-matches-receipt',
        certOib: signer.certificate.oib,
        oib: receipt.oib,
      },
    );
  }
  const zki =
    options.zki ??
    computeZki(
      signer,
      {
        oib: receipt.oib,
        issuedAt: receipt.issuedAt,
        brOznRac: receipt.number,
        oznPosPr: receipt.premises,
        oznNapUr: receipt.device,
        iznosUkupno: receipt.total,
      },
      options.hash,
    );
  const messageId = randomUUID();
  const lateDelivery = options.lateDelivery ?? false;
  const unsigned = racunZahtjevXml(receipt, {
    messageId,
    sentAt: options.sentAt ?? new Date(),
    zki,
    lateDelivery,
  });
  return {
    xml: signCanonicalXml(unsigned, signer, options.hash),
    zki,
    messageId,
    hash: options.hash,
    lateDelivery,
  };
}
