import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { allRules } from '../../../src/einvoice/rules/engine.js';
import {
  runUnitSuite,
  type SuiteReport,
} from '../../../src/einvoice/rules/unit-suite.js';

const dir = fileURLToPath(
  new URL('../../../fixtures/en16931-unit-invoice/', import.meta.url),
);

// Pinned figures: a change that lowers them is a regression; one that
// raises them should update the pin (npm run rules:suite prints them).
// Every rule the suite tests is implemented, the code list rules with
// the exact lists of the CEN artefact (src/einvoice/rules/code-lists.ts).
const PINNED = { agreed: 705, cases: 705 };

describe('EN 16931 unit suite agreement', () => {
  let report: SuiteReport;
  beforeAll(async () => {
    report = await runUnitSuite(dir);
  });

  it('agrees with the suite on the pinned number of cases', () => {
    expect(report.overall).toMatchObject(PINNED);
  });

  it('agrees on every case of every rule, none left out', () => {
    const partial = report.rules
      .filter((r) => !r.implemented || r.agreed !== r.cases)
      .map((r) => `${r.rule} ${r.agreed}/${r.cases}`);

    expect(partial).toEqual([]);
    expect(report.notImplemented).toEqual({ rules: 0, cases: 0 });
  });

  it('checks the code lists exactly, gaps included (ICD 0181, Rec 20)', () => {
    const byRule = new Map(report.rules.map((r) => [r.rule, r]));

    for (const id of ['BR-CL-07', 'BR-CL-10', 'BR-CL-13', 'BR-CL-21']) {
      expect(byRule.get(id), id).toMatchObject({ implemented: true });
      expect(byRule.get(id)?.agreed, id).toBe(byRule.get(id)?.cases);
    }
    expect(byRule.get('BR-CL-23')).toMatchObject({ agreed: 2, cases: 2 });
  });

  it('counts a case only when severity and number of findings match', () => {
    const warning = report.rules.find((r) => r.rule === 'BR-51');
    const counted = report.rules.find((r) => r.rule === 'UBL-DT-01');

    expect(warning).toMatchObject({ agreed: 2, cases: 2 });
    expect(counted).toMatchObject({ agreed: 2, cases: 2 });
  });

  it('reports rules it lacks as not implemented, not as agreement', async () => {
    const without = new Set(['BR-CL-07', 'BR-CL-13', 'BR-CL-23']);
    const partial = await runUnitSuite(
      dir,
      allRules.filter((r) => !without.has(r.id)),
    );
    const missing = partial.rules.filter((r) => !r.implemented);

    expect(missing.map((r) => r.rule)).toEqual([...without]);
    expect(missing.every((r) => r.agreed === 0)).toBe(true);
    expect(partial.notImplemented).toEqual({ rules: 3, cases: 10 });
    expect(partial.overall).toMatchObject({ agreed: 695, cases: 695 });
  });

  it('covers the totals and VAT category rules the suite tests most', () => {
    const byRule = new Map(report.rules.map((r) => [r.rule, r]));

    for (const id of ['BR-CO-13', 'BR-CO-16', 'BR-S-08', 'BR-AE-08']) {
      expect(byRule.get(id)?.implemented, id).toBe(true);
      expect(byRule.get(id)?.cases, id).toBeGreaterThan(3);
    }
  });
});
