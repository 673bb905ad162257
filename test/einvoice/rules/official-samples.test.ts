import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRulesXml } from '../../../src/einvoice/rules/engine.js';
import { validateInvoice } from '../../../src/einvoice/rules/validate.js';

const dir = new URL('../../../fixtures/hr-einvoice-samples/', import.meta.url);
const samples = readdirSync(dir).filter((f) => f.endsWith('.xml'));
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');

// The samples are dated 2025 (HR-BR-40) and use dummy OIBs for the
// operator (HR-BR-9) and the VAT ids (HR-BR-53): nothing else may fire.
const EXPECTED = new Set(['HR-BR-40', 'HR-BR-9', 'HR-BR-53']);

describe('official HR samples', () => {
  it.each(samples)('%s yields only the date and dummy OIB findings', (f) => {
    const rules = checkRulesXml(read(f)).map((finding) => finding.rule);

    expect(rules.filter((rule) => !EXPECTED.has(rule))).toEqual([]);
    expect(rules).toContain('HR-BR-40');
    expect(rules).toContain('HR-BR-9');
  });

  it('names the field and the path of each finding', () => {
    const findings = checkRulesXml(read('eRacun_PDV25.xml'));
    const operator = findings.find((f) => f.rule === 'HR-BR-9');

    expect(operator).toMatchObject({
      severity: 'error',
      field: 'HR-BT-5',
      path: '/Invoice/cac:AccountingSupplierParty/cac:SellerContact',
    });
    expect(operator?.message).toContain('cac:SellerContact/cbc:ID');
  });

  it('passes the schema and reports the rule findings', async () => {
    const result = await validateInvoice(read('Odobrenje.xml'));

    expect(result.findings.map((f) => f.rule).sort()).toEqual([
      'HR-BR-40',
      'HR-BR-53',
      'HR-BR-9',
    ]);
    expect(result.valid).toBe(false);
  });

  it('reports a schema violation as UBL-XSD with its line', async () => {
    const xml = read('eRacun_PDV25.xml').replace(
      '<cbc:IssueTime>',
      '<cbc:Unknown>x</cbc:Unknown><cbc:IssueTime>',
    );
    const result = await validateInvoice(xml);
    const schema = result.findings.filter((f) => f.rule === 'UBL-XSD');

    expect(result.valid).toBe(false);
    expect(schema[0]?.path).toBe('line 16');
    expect(schema[0]?.message).toContain('Unknown');
  });
});
