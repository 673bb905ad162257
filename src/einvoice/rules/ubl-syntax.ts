import { all, attr, kid, kids, text, textAt, type UblElement } from './dom.js';
import { AMOUNT_NAMES } from './en16931-codes.js';
import { rule, type Rule } from './types.js';
import { isVatScheme } from './ubl-document.js';

/**
 * Monetary elements that EN 16931 limits to two decimals: every amount
 * but the unit price, which may have more.
 */
const TWO_DECIMAL_AMOUNTS = new Set(
  AMOUNT_NAMES.filter((name) => name !== 'PriceAmount'),
);

function amountsOf(root: UblElement): UblElement[] {
  const out: UblElement[] = [];
  const walk = (el: UblElement): void => {
    for (const child of kids(el)) {
      // Prices (BG-29) may carry more decimals; so may the HR extension.
      if (child.localName === 'Price') continue;
      if (child.localName === 'UBLExtensions') continue;
      if (TWO_DECIMAL_AMOUNTS.has(child.localName ?? '')) out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

function vatIds(party: UblElement | undefined): UblElement[] {
  return kids(party, 'PartyTaxScheme').filter(
    (s) => isVatScheme(s) && kid(s, 'CompanyID'),
  );
}

/** The UBL syntax binding rules of EN 16931 (UBL-DT-*, UBL-SR-*). */
export const syntaxRules: Rule[] = [
  rule(
    'UBL-DT-01',
    'BT-106',
    'Amounts shall be decimal with at most two fraction digits',
    (doc, fail) => {
      for (const amount of amountsOf(doc.root)) {
        const value = text(amount) ?? '';
        if (!/^[+-]?[0-9]*(\.[0-9]{0,2})?$/.test(value))
          fail(amount, `'${value}'`);
      }
    },
  ),
  rule(
    'UBL-DT-06',
    'BT-125',
    'A binary object (cbc:EmbeddedDocumentBinaryObject) shall have a MIME code (@mimeCode)',
    (doc, fail) => {
      for (const el of all(
        doc.root,
        'AdditionalDocumentReference/Attachment/EmbeddedDocumentBinaryObject',
      )) {
        if (!attr(el, 'mimeCode')) fail(el);
      }
    },
  ),
  rule(
    'UBL-DT-07',
    'BT-125',
    'A binary object (cbc:EmbeddedDocumentBinaryObject) shall have a file name (@filename)',
    (doc, fail) => {
      for (const el of all(
        doc.root,
        'AdditionalDocumentReference/Attachment/EmbeddedDocumentBinaryObject',
      )) {
        if (!attr(el, 'filename')) fail(el);
      }
    },
  ),
  rule(
    'UBL-SR-12',
    'BT-31',
    'The seller VAT identifier (BT-31) shall occur at most once',
    (doc, fail) => {
      if (vatIds(doc.seller).length > 1) fail(doc.seller);
    },
  ),
  rule(
    'UBL-SR-18',
    'BT-48',
    'The buyer VAT identifier (BT-48) shall occur at most once',
    (doc, fail) => {
      if (vatIds(doc.buyer).length > 1) fail(doc.buyer);
    },
  ),
  rule(
    'UBL-SR-44',
    'BT-83',
    'The remittance information (BT-83, cbc:PaymentID) shall occur at most once',
    (doc, fail) => {
      const ids = new Set(
        all(doc.root, 'PaymentMeans/PaymentID').map((el) => text(el)),
      );
      if (ids.size > 1) fail();
    },
  ),
  rule(
    'UBL-SR-47',
    'BT-81',
    'The payment means code (BT-81) may repeat only with the same code',
    (doc, fail) => {
      const means = kids(doc.root, 'PaymentMeans');
      const codes = new Set(means.map((m) => textAt(m, 'PaymentMeansCode')));
      if (codes.size > 1) fail();
    },
  ),
];
