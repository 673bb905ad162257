import { pathOf, type UblElement } from './dom.js';
import { parseXml } from './dom.js';
import { coreRules } from './en16931-core.js';
import { totalsRules } from './en16931-totals.js';
import { vatRules } from './en16931-vat.js';
import { codeListRules } from './en16931-codes.js';
import { syntaxRules } from './ubl-syntax.js';
import { hrRules } from './hr-cius.js';
import { UblDocument } from './ubl-document.js';
import type { Finding, Rule } from './types.js';

/** EN 16931 rules (core, totals, VAT categories, code lists, UBL). */
export const en16931Rules: readonly Rule[] = [
  ...coreRules,
  ...totalsRules,
  ...vatRules,
  ...codeListRules,
  ...syntaxRules,
];

/** Every rule the engine runs: EN 16931 then the Croatian CIUS. */
export const allRules: readonly Rule[] = [...en16931Rules, ...hrRules];

export interface RuleRunOptions {
  /** The rules to run. Default: `allRules`. */
  rules?: readonly Rule[];
}

/**
 * Runs the business rules over a parsed UBL root element and returns
 * every finding. A rule that throws on a malformed value is reported as
 * its own finding rather than hiding the others.
 */
export function checkRules(
  root: UblElement,
  options: RuleRunOptions = {},
): Finding[] {
  const doc = new UblDocument(root);
  const findings: Finding[] = [];
  for (const r of options.rules ?? allRules) {
    const fail = (el?: UblElement, detail?: string): void => {
      findings.push({
        rule: r.id,
        severity: r.severity,
        field: r.field,
        path: pathOf(el ?? root),
        message: detail ? `${r.message}: ${detail}` : r.message,
      });
    };
    try {
      r.check(doc, fail);
    } catch (error) {
      fail(undefined, error instanceof Error ? error.message : 'failed');
    }
  }
  return findings;
}

/** Parses `xml` and runs the business rules (see `checkRules`). */
export function checkRulesXml(
  xml: string,
  options: RuleRunOptions = {},
): Finding[] {
  return checkRules(parseXml(xml), options);
}
