import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kids, parseXml, text } from './dom.js';
import { allRules, checkRules } from './engine.js';
import type { Finding, Rule } from './types.js';

/** What one test invoice expects of one rule. */
export interface SuiteCase {
  file: string;
  rule: string;
  /** `success`: the rule must hold; `error`/`warning`: it must fire. */
  expect: 'success' | 'error' | 'warning';
  /** How many findings the rule must give, when the suite says. */
  count?: number;
  description: string;
}

/** Agreement of the engine with the suite for one rule. */
export interface RuleAgreement {
  rule: string;
  implemented: boolean;
  cases: number;
  agreed: number;
  /** Descriptions of the cases where the engine disagreed. */
  disagreements: string[];
}

/** The suite report; `overall` counts implemented rules only. */
export interface SuiteReport {
  rules: RuleAgreement[];
  overall: { cases: number; agreed: number; ratio: number };
  notImplemented: { rules: number; cases: number };
}

/**
 * Runs every test set of the EN 16931 unit suite (one file per rule,
 * each `test` a small invoice with the rules it must satisfy or
 * trigger) and compares the engine's verdicts. Rules the engine lacks
 * are listed as not implemented, never counted as agreement.
 */
export async function runUnitSuite(
  dir: string,
  rules: readonly Rule[] = allRules,
): Promise<SuiteReport> {
  const known = new Set(rules.map((r) => r.id));
  const byRule = new Map<string, RuleAgreement>();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.xml'));

  for (const file of files.sort()) {
    const set = parseXml(await readFile(join(dir, file), 'utf8'));
    for (const test of kids(set, 'test')) {
      const invoice = kids(test).find((el) =>
        ['Invoice', 'CreditNote'].includes(el.localName ?? ''),
      );
      if (!invoice) continue;
      const findings = checkRules(invoice, { rules });
      for (const c of casesOf(file, test)) {
        const entry = byRule.get(c.rule) ?? {
          rule: c.rule,
          implemented: known.has(c.rule),
          cases: 0,
          agreed: 0,
          disagreements: [],
        };
        byRule.set(c.rule, entry);
        entry.cases += 1;
        if (!entry.implemented) continue;
        if (agrees(c, findings)) entry.agreed += 1;
        else entry.disagreements.push(describe(c, findings));
      }
    }
  }
  return summarize([...byRule.values()]);
}

function casesOf(
  file: string,
  test: import('./dom.js').UblElement,
): SuiteCase[] {
  const out: SuiteCase[] = [];
  for (const assert of kids(test, 'assert')) {
    const description = text(kids(assert, 'description')[0]) ?? '';
    for (const el of kids(assert)) {
      const expect = el.localName;
      if (expect !== 'success' && expect !== 'error' && expect !== 'warning') {
        continue;
      }
      const number = el.getAttribute('number');
      out.push({
        file,
        rule: text(el) ?? '',
        expect,
        description,
        ...(number ? { count: Number(number) } : {}),
      });
    }
  }
  return out;
}

/**
 * A case agrees when the rule stays silent for `success`, and otherwise
 * fires with the expected severity, as many times as the suite says.
 */
function agrees(c: SuiteCase, findings: Finding[]): boolean {
  const own = findings.filter((f) => f.rule === c.rule);
  if (c.expect === 'success') return own.length === 0;
  if (own.length === 0) return false;
  if (own.some((f) => f.severity !== c.expect)) return false;
  return c.count === undefined || own.length === c.count;
}

function describe(c: SuiteCase, findings: Finding[]): string {
  const got = findings.filter((f) => f.rule === c.rule).length;
  const want = c.count === undefined ? '' : ` ×${c.count}`;
  return `${c.file}: ${c.expect}${want}, got ${got}: ${c.description}`;
}

function summarize(rules: RuleAgreement[]): SuiteReport {
  rules.sort((a, b) => a.rule.localeCompare(b.rule));
  const implemented = rules.filter((r) => r.implemented);
  const missing = rules.filter((r) => !r.implemented);
  const cases = implemented.reduce((n, r) => n + r.cases, 0);
  const agreed = implemented.reduce((n, r) => n + r.agreed, 0);
  return {
    rules,
    overall: { cases, agreed, ratio: cases === 0 ? 0 : agreed / cases },
    notImplemented: {
      rules: missing.length,
      cases: missing.reduce((n, r) => n + r.cases, 0),
    },
  };
}
