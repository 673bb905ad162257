import { randomBytes, verify, X509Certificate } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { describe, expect, it } from 'vitest';
import { isTenantGateError } from '../../src/errors/tenantgate-error.js';
import { racunZahtjevXml } from '../../src/fiscal/racun.js';
import { prepareReceipt, type ReceiptInput } from '../../src/fiscal/receipt.js';
import {
  signCanonicalXml,
  signCisXml,
} from '../../src/fiscal/xml-signature.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { fixtureSigner, receiptOf, xmlsecVerify } from './support.js';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const vault = new Vault(
  parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
);
const signer = fixtureSigner(vault, 'a');

/** Every test invoice of the fiscal suite, plus text that needs escaping. */
const INVOICES: [string, ReceiptInput, boolean][] = [
  ['a plain card receipt', receiptOf(), false],
  [
    'every optional group',
    receiptOf({
      vat: [
        { rate: '25.00', base: '100.00', amount: '25.00' },
        { rate: '13.00', base: '50.00', amount: '6.50' },
        { rate: '5.00', base: '20.00', amount: '1.00' },
      ],
      consumptionTax: [{ rate: '3.00', base: '100.00', amount: '3.00' }],
      otherTaxes: [
        {
          name: 'Porez na luksuz',
          rate: '15.00',
          base: '10.00',
          amount: '1.50',
        },
      ],
      exemptAmount: '12.00',
      marginAmount: '4.00',
      notTaxableAmount: '2.00',
      fees: [{ name: 'Povratna naknada', amount: '0.07' }],
      total: '226.07',
      paymentMethod: 'G',
      paragonNumber: '12/POSL1/2',
      specialPurpose: 'test',
      buyerOib: '98765432198',
    }),
    false,
  ],
  [
    'a storno with negative amounts',
    receiptOf({
      storno: true,
      vat: [{ rate: '25.00', base: '-84.40', amount: '-21.10' }],
      total: '-105.50',
    }),
    false,
  ],
  ['a receipt outside the VAT system', receiptOf({ inVatSystem: false })],
  ['a late delivery', receiptOf(), true],
  [
    'names with markup, quotes, CR, tab and non-ASCII',
    receiptOf({
      otherTaxes: [
        {
          name: 'A & B <x> "q" \'a\' ]]> č\r\n\tž',
          rate: '15.00',
          base: '10.00',
          amount: '1.50',
        },
      ],
      fees: [{ name: 'Naknada > 0 & < 1\r', amount: '0.07' }],
      total: '1236.07',
    }),
    false,
  ],
].map(([name, input, late]) => [
  name as string,
  input as ReceiptInput,
  (late ?? false) as boolean,
]);

function unsigned(input: ReceiptInput, lateDelivery: boolean): string {
  return racunZahtjevXml(prepareReceipt(input), {
    messageId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    sentAt: new Date('2026-10-25T01:30:00Z'),
    zki: 'e4d909c290d0fb1ca068ffaddf22cbd0',
    lateDelivery,
  });
}

/** A canonical form by xml-crypto's own exclusive canonicalizer. */
function libraryC14n(node: Element): string {
  return new ExclusiveCanonicalization().process(
    node as unknown as globalThis.Element,
    {},
  );
}

function parse(xml: string): Element {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (!root) throw new Error('no root');
  return root;
}

function signatureOf(root: Element): Element {
  const signature = root.getElementsByTagNameNS(DSIG, 'Signature')[0];
  if (!signature) throw new Error('no Signature');
  return signature;
}

function childNamed(node: Element, name: string): Element {
  const found = node.getElementsByTagNameNS(DSIG, name)[0];
  if (!found) throw new Error(`no ${name}`);
  return found;
}

describe('RacunZahtjev is written in exclusive canonical form', () => {
  it.each(INVOICES)(
    '%s: our bytes equal xml-crypto’s canonicalization',
    (_name, input, late) => {
      const ours = unsigned(input, late);

      expect(libraryC14n(parse(ours))).toBe(ours);
    },
  );

  it.each(INVOICES)(
    '%s: the signed document’s c14n minus Signature is what we digested',
    (_name, input, late) => {
      const ours = unsigned(input, late);
      const root = parse(signCanonicalXml(ours, signer, 'sha256'));
      root.removeChild(signatureOf(root));

      expect(libraryC14n(root)).toBe(ours);
    },
  );

  it.each(INVOICES)(
    '%s: SignedInfo as xml-crypto canonicalizes it carries our signature',
    (_name, input, late) => {
      const root = parse(
        signCanonicalXml(unsigned(input, late), signer, 'sha256'),
      );
      const signature = signatureOf(root);
      const signedInfo = libraryC14n(childNamed(signature, 'SignedInfo'));
      const value = childNamed(signature, 'SignatureValue').textContent ?? '';
      const cert = new X509Certificate(signer.certificateDer());

      expect(
        verify(
          'sha256',
          Buffer.from(signedInfo),
          cert.publicKey,
          Buffer.from(value, 'base64'),
        ),
      ).toBe(true);
    },
  );

  it.each(['sha1', 'sha256'] as const)(
    '%s: the same SignatureValue as xml-crypto’s signing path',
    (hash) => {
      const xml = unsigned(receiptOf(), false);
      const value = (signed: string) =>
        childNamed(signatureOf(parse(signed)), 'SignatureValue').textContent;

      expect(value(signCanonicalXml(xml, signer, hash))).toBe(
        value(signCisXml(xml, signer, hash)),
      );
    },
  );

  it('xmlsec1 accepts the escaped-text invoice', async () => {
    const [, input, late] = INVOICES.at(-1) ?? [];
    if (!input) throw new Error('no invoice');
    const signed = signCanonicalXml(
      unsigned(input, late ?? false),
      signer,
      'sha256',
    );

    const result = await xmlsecVerify(signed);

    expect(result.output).toContain('OK');
    expect(result.ok).toBe(true);
  });

  it('a text field XML cannot carry is refused naming the field', () => {
    let refused: unknown;
    try {
      prepareReceipt(
        receiptOf({ fees: [{ name: 'bell\u0007', amount: '0.07' }] }),
      );
    } catch (error) {
      refused = error;
    }
    expect(isTenantGateError(refused, 'INVALID_INPUT')).toBe(true);
    expect(
      isTenantGateError(refused, 'INVALID_INPUT') && refused.details,
    ).toMatchObject({ field: 'fees[0].name', rule: 'xml-characters' });
  });
});
