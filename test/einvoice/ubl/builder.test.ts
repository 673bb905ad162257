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
