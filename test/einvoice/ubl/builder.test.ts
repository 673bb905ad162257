import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRulesXml } from '../../../src/einvoice/rules/engine.js';
import { validateInvoice } from '../../../src/einvoice/rules/validate.js';
import { buildUbl } from '../../../src/einvoice/ubl/builder.js';
import { readUblFacts } from '../../../src/einvoice/ubl-facts.js';
import { baseModel, SAMPLE_MODELS } from './sample-models.js';

const sampleFacts = (name: string) =>
  readUblFacts(
    readFileSync(
      new URL(`../../../fixtures/hr-einvoice-samples/${name}`, import.meta.url),
      'utf8',
    ),
  );

describe('UBL generation round trip', () => {
  it.each(Object.keys(SAMPLE_MODELS))(
    'builds an invoice like %s that passes every rule with its totals',
    (name) => {
      const { xml } = buildUbl(SAMPLE_MODELS[name]!);
      const facts = readUblFacts(xml);
      const sample = sampleFacts(name);

      expect(checkRulesXml(xml)).toEqual([]);
      expect(facts.documentType).toBe(sample.documentType);
      expect({
        net: facts.netAmount,
        vat: facts.vatAmount,
        total: facts.totalAmount,
      }).toEqual({
        net: sample.netAmount,
        vat: sample.vatAmount,
        total: sample.totalAmount,
      });
    },
  );

  it.each([
    'eRacun_PDV25.xml',
    'eRacun_PDV_NEOP_POVRATNA_NAKNADA_stavka.xml',
    'Odobrenje.xml',
  ])('builds a document like %s that the UBL schema accepts', async (name) => {
    const result = await validateInvoice(buildUbl(SAMPLE_MODELS[name]!).xml);

    expect(result).toEqual({ valid: true, findings: [] });
  });
});

describe('EN 16931 rounding', () => {
  it('rounds each line first and computes VAT from the category base', () => {
    const model = baseModel({
      lines: [1, 2, 3].map(() => ({
        name: 'Usluga',
        quantity: '1',
        unitCode: 'HUR',
        price: '0.333',
        kpd: '62.20.20',
        vat: { category: 'S' as const, rate: '25' },
      })),
    });
    const { totals, xml } = buildUbl(model);

    // Each line 0.33 (not 0.999 → 1.00); VAT 25 % of 0.99 = 0.2475 → 0.25.
    expect(totals.lineExtension.toFixed(2)).toBe('0.99');
    expect(totals.tax.toFixed(2)).toBe('0.25');
    expect(checkRulesXml(xml)).toEqual([]);
  });

  it('rounds negative amounts symmetrically, half away from zero', () => {
    const model = baseModel({
      lines: [
        {
          name: 'Povrat',
          quantity: '-1',
          unitCode: 'H87',
          price: '10.10',
          kpd: '62.20.20',
          vat: { category: 'S', rate: '25' },
        },
      ],
    });
    const { totals } = buildUbl(model);

    // -10.10 × 25 % = -2.525 → -2.53, the mirror of 2.525 → 2.53.
    expect(totals.tax.toFixed(2)).toBe('-2.53');
  });
});

describe('text the builder writes', () => {
  it('escapes & and < in names and reads them back', () => {
    const model = baseModel({
      buyer: { ...baseModel().buyer, name: 'Tom & Jerry <d.o.o.>' },
    });
    const { xml } = buildUbl(model);

    expect(xml).toContain('Tom &amp; Jerry &lt;d.o.o.&gt;');
    expect(readUblFacts(xml).buyerName).toBe('Tom & Jerry <d.o.o.>');
  });

  it('refuses a control character, naming the field', () => {
    const model = baseModel();
    model.lines[0]!.name = 'Proizvod\u0007';

    expect(() => buildUbl(model)).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        details: expect.objectContaining({
          field: 'lines[0].name',
          rule: 'xml-characters',
        }),
      }),
    );
  });

  it('refuses an invoice number with whitespace (HR-BR-1)', () => {
    expect(() => buildUbl(baseModel({ number: '1 P1 1' }))).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({ field: 'number', rule: 'HR-BR-1' }),
      }),
    );
  });
});

describe('the JSON invoice model', () => {
  it('refuses a wrong shape, naming the field path', () => {
    const json = JSON.parse(JSON.stringify(baseModel()));
    json.lines[0].vat.category = 'X';

    expect(() => buildUbl(json)).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        details: expect.objectContaining({
          field: 'lines[0].vat.category',
          rule: 'invoice-model',
        }),
      }),
    );
  });

  it('requires a rate for the standard category (BR-S-05)', () => {
    const model = baseModel();
    model.lines[0]!.vat = { category: 'S' };

    expect(() => buildUbl(model)).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({
          field: 'lines[0].vat.rate',
          rule: 'BR-S-05',
        }),
      }),
    );
  });
});

describe('VAT breakdown of a mixed invoice', () => {
  const mixed = baseModel({
    deliveryCountry: 'HR',
    allowances: [
      {
        amount: '10.00',
        reasonCode: '95',
        reason: 'Popust',
        vat: { category: 'S', rate: '25' },
      },
    ],
    charges: [
      {
        amount: '4.00',
        reason: 'Prijevoz',
        vat: { category: 'S', rate: '13' },
      },
    ],
    lines: [
      {
        name: 'Usluga A',
        quantity: '3',
        unitCode: 'HUR',
        price: '33.333',
        kpd: '62.20.20',
        vat: { category: 'S', rate: '25' },
        allowances: [{ amount: '1.50', reason: 'Rabat' }],
      },
      {
        name: 'Knjiga',
        quantity: '2',
        unitCode: 'H87',
        price: '19.99',
        kpd: '58.11.11',
        vat: { category: 'S', rate: '5' },
      },
      {
        name: 'Građevinski radovi',
        quantity: '1',
        unitCode: 'H87',
        price: '500',
        kpd: '43.99.90',
        vat: {
          category: 'AE',
          exemptionReason: 'Prijenos porezne obveze, čl. 75. st. 3.',
          exemptionReasonCode: 'VATEX-EU-AE',
        },
      },
    ],
  });

  it('breaks VAT down per category and rate with exact totals', () => {
    const { totals, xml } = buildUbl(mixed);

    // Lines 98.50 + 39.98 + 500.00; S25 base 88.50 → 22.13 (22.125 up),
    // S13 base 4.00 → 0.52, S5 base 39.98 → 2.00 (1.999), AE 0.
    expect(totals.lineExtension.toFixed(2)).toBe('638.48');
    expect(totals.taxExclusive.toFixed(2)).toBe('632.48');
    expect(totals.tax.toFixed(2)).toBe('24.65');
    expect(totals.payable.toFixed(2)).toBe('657.13');
    expect(checkRulesXml(xml)).toEqual([]);
  });

  it('passes the UBL schema', async () => {
    const result = await validateInvoice(buildUbl(mixed).xml);

    expect(result).toEqual({ valid: true, findings: [] });
  });
});

describe('KPD classification', () => {
  it('refuses a code outside KPD 2025, naming the line (HR-BR-CL-2)', () => {
    const model = baseModel();
    model.lines[0]!.kpd = '58.11.19';

    expect(() => buildUbl(model)).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({
          field: 'lines[0].kpd',
          rule: 'HR-BR-CL-2',
        }),
      }),
    );
  });
});

describe('decimal notation', () => {
  it('writes tiny prices in plain notation, never with an exponent', () => {
    const model = baseModel();
    model.lines[0] = {
      ...model.lines[0]!,
      quantity: '1000000',
      price: '0.00000012',
    };
    const { xml, totals } = buildUbl(model);

    expect(xml).toContain('>0.00000012</cbc:PriceAmount>');
    expect(xml).not.toMatch(/[0-9]e-[0-9]/);
    expect(totals.lineExtension.toFixed(2)).toBe('0.12');
  });
});
