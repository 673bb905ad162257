import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRulesXml } from '../../../src/einvoice/rules/engine.js';
import {
  assertValidInvoice,
  createInvoiceValidator,
} from '../../../src/einvoice/rules/validate.js';

const sample = readFileSync(
  new URL(
    '../../../fixtures/hr-einvoice-samples/eRacun_PDV25.xml',
    import.meta.url,
  ),
  'utf8',
);
const rulesOf = (xml: string) => checkRulesXml(xml).map((f) => f.rule);

/** A schema check that accepts everything: these tests are about rules. */
const noSchema = { validate: async () => ({ valid: true, errors: [] }) };

describe('rule engine', () => {
  it('reads documents whatever namespace prefixes they use', () => {
    const renamed = sample
      .replace(/xmlns:cac=/g, 'xmlns:a=')
      .replace(/xmlns:cbc=/g, 'xmlns:b=')
      .replace(/(<\/?)cac:/g, '$1a:')
      .replace(/(<\/?)cbc:/g, '$1b:');

    expect(rulesOf(renamed)).toEqual(rulesOf(sample));
  });

  it('finds a wrong total with BR-CO-15 and names BT-112', () => {
    const xml = sample.replace(
      '<cbc:TaxInclusiveAmount currencyID="EUR">125.00',
      '<cbc:TaxInclusiveAmount currencyID="EUR">125.01',
    );
    const finding = checkRulesXml(xml).find((f) => f.rule === 'BR-CO-15');

    expect(finding?.field).toBe('BT-112');
    expect(finding?.path).toBe('/Invoice/cac:LegalMonetaryTotal');
  });

  it('finds VAT computed from the wrong base with BR-S-08', () => {
    const xml = sample.replace(
      '<cbc:TaxableAmount currencyID="EUR">100.00',
      '<cbc:TaxableAmount currencyID="EUR">102.00',
    );

    expect(rulesOf(xml)).toContain('BR-S-08');
  });

  it('requires the KPD classification with listID CG (HR-BR-25)', () => {
    const xml = sample.replace('listID="CG"', 'listID="STI"');

    expect(rulesOf(xml)).toEqual(
      expect.arrayContaining(['HR-BR-25', 'HR-BR-CL-2']),
    );
  });

  it('accepts a valid operator OIB and HR VAT ids', () => {
    const xml = sample.replaceAll('12345678901', '12345678903');

    expect(rulesOf(xml)).toEqual(['HR-BR-40']);
  });
});

describe('validateInvoice', () => {
  const validator = createInvoiceValidator({ schema: noSchema });

  it('refuses control characters without parsing', async () => {
    const result = await validator.validate(
      sample.replace('Ulica 1', '\u0001'),
    );

    expect(result.valid).toBe(false);
    expect(result.findings[0]?.rule).toBe('XML-CHARACTERS');
  });

  it('refuses what is not well-formed XML', async () => {
    const result = await validator.validate('<Invoice><cbc:ID>');

    expect(result.findings.map((f) => f.rule)).toEqual(['XML-WELL-FORMED']);
  });

  it('is valid when only warnings remain', async () => {
    const fixed = sample
      .replaceAll('12345678901', '12345678903')
      .replace('2025-12-01', '2026-02-01');

    expect(await validator.validate(fixed)).toEqual({
      valid: true,
      findings: [],
    });
  });
});

describe('rule catalogue', () => {
  it('has one rule per identifier, each naming its business term', async () => {
    const { allRules } = await import('../../../src/einvoice/rules/engine.js');
    const ids = allRules.map((r) => r.id);

    expect(new Set(ids).size).toBe(ids.length);
    expect(allRules.length).toBeGreaterThan(200);
    for (const r of allRules) {
      expect(r.field, r.id).toMatch(/^(BT|BG|HR-BT|HR-BG)-[0-9]+$|^XML$/);
    }
  });
});

describe('assertValidInvoice', () => {
  const validator = createInvoiceValidator({ schema: noSchema });

  it('throws EINVOICE_INVALID carrying every finding', async () => {
    const error = await assertValidInvoice(sample, validator).catch(
      (e: unknown) => e,
    );

    expect(error).toMatchObject({
      code: 'EINVOICE_INVALID',
      retryable: false,
      details: { rule: 'HR-BR-40', field: 'BT-2' },
    });
    const { findings } = (error as { details: { findings: unknown[] } })
      .details;
    expect(findings).toHaveLength(3);
  });

  it('returns nothing to report for a valid document', async () => {
    const valid = sample
      .replaceAll('12345678901', '12345678903')
      .replace('2025-12-01', '2026-02-01');

    expect(await assertValidInvoice(valid, validator)).toEqual([]);
  });
});
