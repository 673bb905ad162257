import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTenantGateError } from '../../src/errors/tenantgate-error.js';
import { racunZahtjevXml } from '../../src/fiscal/racun.js';
import { prepareReceipt, type ReceiptInput } from '../../src/fiscal/receipt.js';
import {
  signCanonicalXml,
  signCisXml,
} from '../../src/fiscal/xml-signature.js';
import { computeZki } from '../../src/fiscal/zki.js';
import { validateCisSchema } from '../../src/sandbox/cis-schema.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { fixtureSigner, receiptOf, xmlsecVerify } from './support.js';

const vault = new Vault(
  parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
);
const signer = fixtureSigner(vault, 'a');
const SEND = {
  messageId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  sentAt: new Date('2026-05-15T08:20:31Z'),
  lateDelivery: false,
};

function build(input: ReceiptInput, hash: 'sha1' | 'sha256' = 'sha256') {
  const receipt = prepareReceipt(input);
  const zki = computeZki(
    signer,
    {
      oib: receipt.oib,
      issuedAt: receipt.issuedAt,
      brOznRac: receipt.number,
      oznPosPr: receipt.premises,
      oznNapUr: receipt.device,
      iznosUkupno: receipt.total,
    },
    hash,
  );
  return racunZahtjevXml(receipt, { ...SEND, zki });
}

function refusal(input: ReceiptInput) {
  try {
    prepareReceipt(input);
  } catch (error) {
    if (isTenantGateError(error, 'INVALID_INPUT')) return error.details;
    throw error;
  }
  throw new Error('expected INVALID_INPUT');
}

const FULL = receiptOf({
  vat: [
    { rate: '25.00', base: '100.00', amount: '25.00' },
    { rate: '13.00', base: '50.00', amount: '6.50' },
    { rate: '5.00', base: '20.00', amount: '1.00' },
  ],
  consumptionTax: [{ rate: '3.00', base: '100.00', amount: '3.00' }],
  otherTaxes: [
    { name: 'Porez na luksuz', rate: '15.00', base: '10.00', amount: '1.50' },
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
});

describe('RacunZahtjev is valid against FiskalizacijaSchema.xsd', () => {
  const cases: [string, ReceiptInput][] = [
    ['a plain card receipt', receiptOf()],
    ['every optional group', FULL],
    [
      'a storno with negative amounts',
      receiptOf({
        storno: true,
        vat: [{ rate: '25.00', base: '-84.40', amount: '-21.10' }],
        total: '-105.50',
      }),
    ],
    ['a receipt outside the VAT system', receiptOf({ inVatSystem: false })],
  ];

  it.each(cases)('%s, signed', async (_name, input) => {
    const signed = signCanonicalXml(build(input), signer, 'sha256');
    const result = await validateCisSchema(signed);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('keeps the schema order of Racun', () => {
    const xml = build(FULL);
    const order = [...xml.matchAll(/<tns:(\w+)>/g)].map((m) => m[1]);
    const racun = order.slice(order.indexOf('Oib'));
    const top = racun.filter((n) =>
      [
        'Oib',
        'USustPdv',
        'DatVrijeme',
        'OznSlijed',
        'BrRac',
        'Pdv',
        'Pnp',
        'OstaliPor',
        'IznosOslobPdv',
        'IznosMarza',
        'IznosNePodlOpor',
        'Naknade',
        'IznosUkupno',
        'NacinPlac',
        'OibOper',
        'ZastKod',
        'NakDost',
        'ParagonBrRac',
        'SpecNamj',
        'OibPrimateljaRacuna',
      ].includes(n ?? ''),
    );
    expect(top.at(-1)).toBe('OibPrimateljaRacuna');
    expect(top.indexOf('Pdv')).toBeLessThan(top.indexOf('Pnp'));
    expect(top.indexOf('ZastKod')).toBeLessThan(top.indexOf('NakDost'));
  });

  it('writes Zagreb wall-clock time and dot decimals', () => {
    const xml = build(receiptOf({ total: '1234.5' }));
    expect(xml).toContain('<tns:DatVrijeme>15.05.2026T10:20:30<');
    expect(xml).toContain('<tns:IznosUkupno>1234.50<');
  });

  it('rounds half-up to two places with decimal arithmetic', () => {
    const receipt = prepareReceipt(receiptOf({ total: '0.125' }));
    expect(receipt.total).toBe('0.13');
    expect(prepareReceipt(receiptOf({ total: '2.675' })).total).toBe('2.68');
  });
});

describe('bad input is refused naming the field', () => {
  it.each([
    ['an invalid OIB checksum', { oib: '12345678900' }, 'oib'],
    ['an amount with a comma', { total: '1234,50' }, 'total'],
    ['a missing operator OIB', { operatorOib: '' }, 'operatorOib'],
    ['a negative total without storno', { total: '-1.00' }, 'total'],
    ['a float amount', { total: 12.5 as unknown as string }, 'total'],
    [
      'a buyer OIB with transfer',
      { buyerOib: '98765432198', paymentMethod: 'T' as const },
      'paymentMethod',
    ],
    ['a number with a leading zero', { number: '07' }, 'number'],
    ['a premises code with a dash', { premises: 'POS-1' }, 'premises'],
  ])('%s', (_name, overrides, field) => {
    const details = refusal(receiptOf(overrides as Partial<ReceiptInput>));
    expect(details.field).toBe(field);
    expect(details.rule).toEqual(expect.any(String));
  });
});

describe('the XML signature verifies with xmlsec1', () => {
  it('RSA-SHA256, exclusive c14n, certificate and issuer/serial', async () => {
    const signed = signCanonicalXml(build(receiptOf()), signer, 'sha256');

    const result = await xmlsecVerify(signed);

    expect(result.output).toContain('OK');
    expect(result.ok).toBe(true);
    expect(signed).toContain(
      '<X509IssuerName>CN=TenantGate Demo Fiscal CA,O=TenantGate Test,C=HR<',
    );
    expect(signed).toContain('<X509SerialNumber>8193<');
    expect(signed).toContain('xml-exc-c14n#');
    expect(signed).toMatch(/<Reference URI="#a1b2c3d4-[^"]+">/);
    expect(signed.trimEnd()).toMatch(/<\/Signature><\/tns:RacunZahtjev>$/);
  });

  it('RSA-SHA1 under the old policy', async () => {
    const signed = signCanonicalXml(build(receiptOf(), 'sha1'), signer, 'sha1');
    expect(signed).toContain('xmldsig#rsa-sha1');
    expect((await xmlsecVerify(signed)).ok).toBe(true);
  });

  it('xml-crypto signing (signCisXml) still verifies', async () => {
    const signed = signCisXml(build(receiptOf()), signer, 'sha256');
    expect((await xmlsecVerify(signed)).ok).toBe(true);
  });

  it('a tampered amount fails verification', async () => {
    const signed = signCanonicalXml(build(receiptOf()), signer, 'sha256');
    const tampered = signed.replace('1234.50', '1.00');
    expect((await xmlsecVerify(tampered)).ok).toBe(false);
  });
});
