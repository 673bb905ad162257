import { fileURLToPath } from 'node:url';
import { compiledXsd } from './compiled-xsd.js';

/** A schema finding of the CIS simulator. */
export interface CisSchemaResult {
  valid: boolean;
  errors: string[];
}

const SCHEMA = fileURLToPath(
  new URL('../../fixtures/xsd/cis/FiskalizacijaSchema.xsd', import.meta.url),
);

/**
 * Validates a CIS message (the SOAP body's root element, serialised on
 * its own) against FiskalizacijaSchema.xsd v1.9 with the XML signature
 * schema it imports. The schema is compiled once per process
 * (libxml2-wasm); a check then costs a parse and a validation of the
 * message, well under a millisecond.
 */
export function validateCisSchema(xml: string): Promise<CisSchemaResult> {
  try {
    const result = compiledXsd(SCHEMA).validate(xml);
    return Promise.resolve({
      valid: result.valid,
      errors: result.errors.map((e) => e.message),
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
