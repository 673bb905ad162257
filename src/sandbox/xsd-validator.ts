import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compiledXsd,
  type XsdFinding,
  type XsdValidationResult,
} from './compiled-xsd.js';

export type { XsdFinding, XsdValidationResult };

/** Checks a UBL 2.1 document against the schema its root names. */
export interface UblSchemaValidator {
  validate(xml: string): Promise<XsdValidationResult>;
}

export interface UblSchemaValidatorOptions {
  /**
   * The folder holding `maindoc/` and `common/` of UBL 2.1 with the HR
   * extension, under the repository's `fixtures/xsd/` (the only folder
   * libxml2 may read). Default: `fixtures/xsd/ubl`, found from this
   * module's location (not the working directory).
   */
  schemaDir?: string;
}

const DEFAULT_SCHEMA_DIR = fileURLToPath(
  new URL('../../fixtures/xsd/ubl/', import.meta.url),
);

/**
 * A validator on the UBL Invoice and CreditNote schemas, each compiled
 * once per process on first use (libxml2-wasm, ~0.3 s with the
 * `../common/` files they import) and shared by every validator on the
 * same folder; a check then costs ~0.5 ms for an official sample.
 */
export function createUblSchemaValidator(
  options: UblSchemaValidatorOptions = {},
): UblSchemaValidator {
  const schemaDir = options.schemaDir ?? DEFAULT_SCHEMA_DIR;

  return {
    validate(xml) {
      const main =
        rootLocalName(xml) === 'CreditNote'
          ? 'maindoc/UBL-CreditNote-2.1.xsd'
          : 'maindoc/UBL-Invoice-2.1.xsd';
      // A schema that does not compile throws (our fault, not the
      // document's); a bad document is a finding.
      try {
        const schema = compiledXsd(path.join(schemaDir, main));
        return Promise.resolve(schema.validate(xml));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

let defaultValidator: UblSchemaValidator | undefined;

/** Validates with the repository's UBL schemas (see the factory). */
export function validateUblSchema(xml: string): Promise<XsdValidationResult> {
  defaultValidator ??= createUblSchemaValidator();
  return defaultValidator.validate(xml);
}

/**
 * The local name of the first element, skipping the prolog. A root that
 * is neither Invoice nor CreditNote goes to the Invoice schema, which
 * reports it as undeclared.
 */
function rootLocalName(xml: string): string | undefined {
  const prolog =
    /^\uFEFF?(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)*/;
  const rest = xml.slice(prolog.exec(xml)?.[0].length ?? 0);
  const match = /^<(?:[\w.-]+:)?([\w.-]+)/.exec(rest);
  return match?.[1];
}
