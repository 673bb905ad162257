import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  runUnitSuite,
  type SuiteReport,
} from '../../../src/einvoice/rules/unit-suite.js';

const dir = fileURLToPath(
  new URL('../../../fixtures/en16931-unit-invoice/', import.meta.url),
);

// Pinned figures: a change that lowers them is a regression; one that
// raises them should update the pin (npm run rules:suite prints them).
const PINNED = { agreed: 693, cases: 695 };
// ISO 6523 ICD is checked as the range 0002–0240; the suite's list has
// a gap there (0181), so one case each expects one finding more.
const PARTIAL = ['BR-CL-10 1/2', 'BR-CL-21 1/2'];
const NOT_IMPLEMENTED = ['BR-CL-07', 'BR-CL-13', 'BR-CL-23'];

describe('EN 16931 unit suite agreement', () => {
  let report: SuiteReport;
  beforeAll(async () => {
    report = await runUnitSuite(dir);
  });

  it('agrees with the suite on the pinned number of cases', () => {
    expect(report.overall).toMatchObject(PINNED);
  });

  it('agrees on every case of every other implemented rule', () => {
    const partial = report.rules
      .filter((r) => r.implemented && r.agreed !== r.cases)
      .map((r) => `${r.rule} ${r.agreed}/${r.cases}`);

    expect(partial).toEqual(PARTIAL);
  });

  it('counts a case only when severity and number of findings match', () => {
    const warning = report.rules.find((r) => r.rule === 'BR-51');
    const counted = report.rules.find((r) => r.rule === 'UBL-DT-01');

    expect(warning).toMatchObject({ agreed: 2, cases: 2 });
    expect(counted).toMatchObject({ agreed: 2, cases: 2 });
  });

  it('reports rules it lacks as not implemented, not as agreement', () => {
    const missing = report.rules.filter((r) => !r.implemented);

    expect(missing.map((r) => r.rule)).toEqual(NOT_IMPLEMENTED);
    expect(missing.every((r) => r.agreed === 0)).toBe(true);
    expect(report.notImplemented.cases).toBe(10);
  });

  it('covers the totals and VAT category rules the suite tests most', () => {
    const byRule = new Map(report.rules.map((r) => [r.rule, r]));

    for (const id of ['BR-CO-13', 'BR-CO-16', 'BR-S-08', 'BR-AE-08']) {
      expect(byRule.get(id)?.implemented, id).toBe(true);
      expect(byRule.get(id)?.cases, id).toBeGreaterThan(3);
    }
  });
});
