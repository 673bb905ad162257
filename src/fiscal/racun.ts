import type { Receipt, TaxLine } from './receipt.js';
import { zagrebXmlTime } from './zagreb-time.js';

/** The CIS types namespace (schema v1.9). */
export const CIS_NS = 'http://www.apis-it.hr/fin/2012/types/f73';

/** The per-send values of a request: new for every attempt. */
export interface SendFacts {
  /** `IdPoruke`: a lowercase UUID, new for every send. */
  messageId: string;
  /** `DatumVrijeme`: when this send happens. */
  sentAt: Date;
  /** The ZKI of the receipt: computed once, reused on every resend. */
  zki: string;
  /** `NakDost`: a late delivery of a receipt issued without JIR. */
  lateDelivery: boolean;
}

/**
 * `RacunZahtjev` for a prepared receipt, in the schema's element order,
 * unsigned. The root carries `Id` = `messageId` for the signature's
 * reference. The text is already the root's exclusive canonical form
 * (one namespace declaration before the one attribute, start and end
 * tags, c14n text escaping, nothing between elements), so it is both
 * what is sent and what is digested (`signCanonicalXml`).
 */
export function racunZahtjevXml(receipt: Receipt, send: SendFacts): string {
  const parts = [
    el('Oib', receipt.oib),
    el('USustPdv', String(receipt.inVatSystem)),
    el('DatVrijeme', zagrebXmlTime(receipt.issuedAt)),
    el('OznSlijed', receipt.sequenceMark),
    wrap(
      'BrRac',
      el('BrOznRac', receipt.number) +
        el('OznPosPr', receipt.premises) +
        el('OznNapUr', receipt.device),
    ),
    taxes('Pdv', receipt.vat),
    taxes('Pnp', receipt.consumptionTax),
    receipt.otherTaxes.length === 0
      ? ''
      : wrap(
          'OstaliPor',
          receipt.otherTaxes
            .map((t) => wrap('Porez', el('Naziv', t.name) + taxLine(t)))
            .join(''),
        ),
    opt('IznosOslobPdv', receipt.exemptAmount),
    opt('IznosMarza', receipt.marginAmount),
    opt('IznosNePodlOpor', receipt.notTaxableAmount),
    receipt.fees.length === 0
      ? ''
      : wrap(
          'Naknade',
          receipt.fees
            .map((f) =>
              wrap('Naknada', el('NazivN', f.name) + el('IznosN', f.amount)),
            )
            .join(''),
        ),
    el('IznosUkupno', receipt.total),
    el('NacinPlac', receipt.paymentMethod),
    el('OibOper', receipt.operatorOib),
    el('ZastKod', send.zki),
    el('NakDost', String(send.lateDelivery)),
    opt('ParagonBrRac', receipt.paragonNumber),
    opt('SpecNamj', receipt.specialPurpose),
    opt('OibPrimateljaRacuna', receipt.buyerOib),
  ];
  return (
    `<tns:RacunZahtjev xmlns:tns="${CIS_NS}" Id="${c14nAttribute(send.messageId)}">` +
    wrap(
      'Zaglavlje',
      el('IdPoruke', send.messageId) +
        el('DatumVrijeme', zagrebXmlTime(send.sentAt)),
    ) +
    wrap('Racun', parts.join('')) +
    '</tns:RacunZahtjev>'
  );
}

/** `EchoRequest` with a text. */
export function echoRequestXml(text: string): string {
  return `<tns:EchoRequest xmlns:tns="${CIS_NS}">${escapeXml(text)}</tns:EchoRequest>`;
}

function taxes(name: string, lines: TaxLine[]): string {
  if (lines.length === 0) return '';
  return wrap(name, lines.map((l) => wrap('Porez', taxLine(l))).join(''));
}

function taxLine(line: TaxLine): string {
  return (
    el('Stopa', line.rate) +
    el('Osnovica', line.base) +
    el('Iznos', line.amount)
  );
}

function el(name: string, value: string): string {
  return `<tns:${name}>${c14nText(value)}</tns:${name}>`;
}

function opt(name: string, value: string | null): string {
  return value === null ? '' : el(name, value);
}

function wrap(name: string, inner: string): string {
  return `<tns:${name}>${inner}</tns:${name}>`;
}

/**
 * Text content as canonical XML writes it (C14N 1.0, also exclusive):
 * `&`, `<`, `>` and carriage return escaped, nothing else.
 */
export function c14nText(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#xD;');
}

/**
 * An attribute value as canonical XML writes it: `&`, `<`, `"`, tab,
 * line feed and carriage return escaped.
 */
export function c14nAttribute(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('"', '&quot;')
    .replaceAll('\t', '&#x9;')
    .replaceAll('\n', '&#xA;')
    .replaceAll('\r', '&#xD;');
}

/** Escapes text for element content and double-quoted attributes. */
export function escapeXml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
