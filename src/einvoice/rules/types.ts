import type { UblDocument } from './ubl-document.js';
import type { UblElement } from './dom.js';

/** `error` rejects the invoice (Schematron `fatal`); `warning` does not. */
export type Severity = 'error' | 'warning';

/** One broken rule, located in the document. */
export interface Finding {
  /** The rule's identifier, e.g. `BR-CO-10` or `HR-BR-9`. */
  rule: string;
  severity: Severity;
  /** The business term(s) the rule is about, e.g. `BT-106`. */
  field: string;
  /** Where in the document, as `/Invoice/cac:LegalMonetaryTotal`. */
  path: string;
  message: string;
}

/** Reports a violation at `el` (the document root if omitted). */
export type Fail = (el?: UblElement, detail?: string) => void;

/** A business rule: one identifier, one check. */
export interface Rule {
  id: string;
  severity: Severity;
  field: string;
  message: string;
  check(doc: UblDocument, fail: Fail): void;
}

/** Declares a rule; severity defaults to `error`. */
export function rule(
  id: string,
  field: string,
  message: string,
  check: Rule['check'],
  severity: Severity = 'error',
): Rule {
  return { id, field, message, check, severity };
}
