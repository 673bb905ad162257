import {
  createUblSchemaValidator,
  type UblSchemaValidator,
} from '../../sandbox/xsd-validator.js';
import {
  isTenantGateError,
  TenantGateError,
} from '../../errors/tenantgate-error.js';
import { parseXml, type UblElement } from './dom.js';
import { allRules, checkRules } from './engine.js';
import type { Finding, Rule } from './types.js';

/** The verdict on one document: `valid` when no finding is an error. */
export interface InvoiceValidation {
  valid: boolean;
  findings: Finding[];
}

export interface InvoiceValidatorOptions {
  /**
   * Schema check. Default: the repository's UBL 2.1 + HR extension
   * schemas through libxml2-wasm (`createUblSchemaValidator()`).
   */
  schema?: UblSchemaValidator;
  /** Business rules. Default: every EN 16931 and HR CIUS rule. */
  rules?: readonly Rule[];
}

/** Validates UBL documents: XML, then schema, then business rules. */
export interface InvoiceValidator {
  validate(xml: string): Promise<InvoiceValidation>;
}

// XML 1.0 forbids these; a document carrying them is refused, never
// silently cleaned.
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/**
 * Builds a validator. Schema findings carry the rule `UBL-XSD` and the
 * line; business findings their EN 16931 or HR-BR identifier.
 */
export function createInvoiceValidator(
  options: InvoiceValidatorOptions = {},
): InvoiceValidator {
  const schema = options.schema ?? createUblSchemaValidator();
  const rules = options.rules ?? allRules;

  return {
    async validate(xml) {
      const parsed = parse(xml);
      if ('finding' in parsed) return verdict([parsed.finding]);

      const checked = await schema.validate(xml);
      const schemaFindings = checked.errors.map((e): Finding => ({
        rule: 'UBL-XSD',
        severity: 'error',
        field: 'XML',
        path: `line ${e.line}`,
        message: e.message.trim(),
      }));
      return verdict([
        ...schemaFindings,
        ...checkRules(parsed.root, { rules }),
      ]);
    },
  };
}

let defaultValidator: InvoiceValidator | undefined;

/**
 * Validates a UBL Invoice or CreditNote against the UBL 2.1 schema (HR
 * extension included) and then every EN 16931 and HR CIUS rule.
 */
export function validateInvoice(xml: string): Promise<InvoiceValidation> {
  defaultValidator ??= createInvoiceValidator();
  return defaultValidator.validate(xml);
}

/**
 * The error for an invalid document: EINVOICE_INVALID naming the first
 * error's rule and field, with every finding in `details.findings` (the
 * list to store with the invoice).
 */
export function invoiceValidationError(
  result: InvoiceValidation,
): TenantGateError {
  const errors = result.findings.filter((f) => f.severity === 'error');
  const first = errors[0];
  const summary = first
    ? `${first.rule} (${first.field} at ${first.path}): ${first.message}`
    : 'no error findings';
  return new TenantGateError(
    'EINVOICE_INVALID',
    `document: fails ${errors.length} rule(s); first ${summary}`,
    {
      field: first?.field ?? 'document',
      rule: first?.rule ?? 'none',
      findings: result.findings,
    },
  );
}

/**
 * Validates and throws EINVOICE_INVALID unless the document is valid;
 * returns the warnings otherwise. For callers that must not send an
 * invalid document.
 */
export async function assertValidInvoice(
  xml: string,
  validator: InvoiceValidator = { validate: validateInvoice },
): Promise<Finding[]> {
  const result = await validator.validate(xml);
  if (!result.valid) throw invoiceValidationError(result);
  return result.findings;
}

function verdict(findings: Finding[]): InvoiceValidation {
  return {
    valid: findings.every((f) => f.severity !== 'error'),
    findings,
  };
}

function parse(xml: string): { root: UblElement } | { finding: Finding } {
  const refuse = (rule: string, message: string) => ({
    finding: {
      rule,
      severity: 'error' as const,
      field: 'document',
      path: '/',
      message,
    },
  });
  if (CONTROL_CHARACTERS.test(xml)) {
    return refuse(
      'XML-CHARACTERS',
      'document: contains control characters that XML 1.0 does not allow',
    );
  }
  try {
    const root = parseXml(xml);
    if (root.localName !== 'Invoice' && root.localName !== 'CreditNote') {
      return refuse(
        'UBL-ROOT',
        'document: the root element must be a UBL Invoice or CreditNote',
      );
    }
    return { root };
  } catch (error) {
    if (!isTenantGateError(error)) throw error;
    return refuse('XML-WELL-FORMED', error.message);
  }
}
