import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ErrorDetail,
  XmlDocument,
  XmlLibError,
  xmlRegisterInputProvider,
  XsdValidator,
} from 'libxml2-wasm';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** One schema finding: the line in the document (0 if unknown). */
export interface XsdFinding {
  line: number;
  message: string;
}

/** What a schema check found; `errors` is empty when `valid`. */
export interface XsdValidationResult {
  valid: boolean;
  errors: XsdFinding[];
}

/** An XSD compiled once, checking any number of documents. */
export interface CompiledXsd {
  /** The schema's findings on `xml`; a malformed document is a finding. */
  validate(xml: string): XsdValidationResult;
  /** Frees the compiled schema's wasm memory; `validate` then throws. */
  dispose(): void;
}

/** The only folder libxml2 may read: the schemas and what they import. */
export const XSD_ROOT = fileURLToPath(
  new URL('../../fixtures/xsd/', import.meta.url),
);

// The name libxml2 gives the checked document in its findings.
const DOCUMENT_URL = 'document.xml';

// libxml2 levels: 1 warning, 2 error, 3 fatal.
const XML_ERR_ERROR = 2;

const compiled = new Map<string, CompiledXsd>();

/**
 * The schema at `schemaPath` (absolute, under fixtures/xsd/), compiled
 * on first use and shared by every caller of this process: libxml2
 * reads the imports and includes relative to it, compiles once (UBL
 * ~0.3 s) and each check then costs a parse and a validation (~0.5 ms
 * for an official UBL sample). Each checked document is freed after
 * its check.
 */
export function compiledXsd(schemaPath: string): CompiledXsd {
  const key = path.resolve(schemaPath);
  let schema = compiled.get(key);
  if (!schema) {
    schema = compile(key);
    compiled.set(key, schema);
  }
  return schema;
}

/** Frees every compiled schema; the next use compiles again. */
export function disposeCompiledXsds(): void {
  for (const schema of compiled.values()) schema.dispose();
  compiled.clear();
}

function compile(schemaPath: string): CompiledXsd {
  registerSchemaFiles();
  let schemaDoc: XmlDocument | undefined;
  let validator: XsdValidator;
  try {
    schemaDoc = XmlDocument.fromBuffer(readFileSync(schemaPath), {
      url: schemaPath,
    });
    validator = XsdValidator.fromDoc(schemaDoc);
  } catch (error) {
    schemaDoc?.dispose();
    // The schema is ours: failing to compile it is not the document's
    // fault.
    throw new TenantGateError(
      'INTERNAL',
      'the XML schema could not be compiled',
      { schema: path.relative(XSD_ROOT, schemaPath) },
      { cause: error },
    );
  }
  // The compiled schema points into its document (annotations), so
  // both live, and are freed, together.
  const doc = schemaDoc;
  return {
    validate: (xml) => check(validator, xml),
    dispose() {
      validator.dispose();
      doc.dispose();
    },
  };
}

function check(validator: XsdValidator, xml: string): XsdValidationResult {
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromString(xml, { url: DOCUMENT_URL });
  } catch (error) {
    if (error instanceof XmlLibError) return invalid(error.details);
    throw error;
  }
  try {
    validator.validate(doc);
    return { valid: true, errors: [] };
  } catch (error) {
    if (error instanceof XmlLibError) return invalid(error.details);
    // ret < 0: libxml2 could not run the validation at all.
    throw new TenantGateError(
      'INTERNAL',
      'libxml2 could not run the schema validation',
      {},
      { cause: error },
    );
  } finally {
    doc.dispose();
  }
}

/**
 * The errors located in the document, warnings left out; what libxml2
 * did not place (none in practice) is kept rather than lost.
 */
function invalid(details: readonly ErrorDetail[]): XsdValidationResult {
  const toFinding = (d: ErrorDetail): XsdFinding => ({
    line: d.file === DOCUMENT_URL ? d.line : 0,
    message: d.message.trim(),
  });
  const errors = details.filter((d) => d.level >= XML_ERR_ERROR);
  const located = errors.filter((d) => d.file === DOCUMENT_URL);
  const kept = located.length > 0 ? located : errors;
  const findings = kept.map(toFinding);
  return {
    valid: false,
    errors:
      findings.length > 0
        ? findings
        : [{ line: 0, message: 'Schema validation failed' }],
  };
}

let registered = false;

/**
 * Lets libxml2 read files under fixtures/xsd/ and nothing else (the
 * checked documents come from outside; their references must not reach
 * the file system).
 */
function registerSchemaFiles(): void {
  if (registered) return;
  const inRoot = (filename: string): string | undefined => {
    let file = filename;
    if (file.startsWith('file:')) {
      try {
        file = fileURLToPath(file);
      } catch {
        return undefined;
      }
    }
    if (!path.isAbsolute(file)) return undefined;
    const resolved = path.resolve(file);
    return resolved.startsWith(XSD_ROOT) ? resolved : undefined;
  };
  registered = xmlRegisterInputProvider({
    match: (filename) => inRoot(filename) !== undefined,
    open(filename) {
      const file = inRoot(filename);
      if (!file) return undefined;
      try {
        return openSync(file, 'r');
      } catch {
        return undefined;
      }
    },
    read(fd, buffer) {
      try {
        return readSync(fd, buffer, 0, buffer.byteLength, null);
      } catch {
        return -1;
      }
    },
    close(fd) {
      try {
        closeSync(fd);
      } catch {
        // Already closed: nothing to free.
      }
      return true;
    },
  });
  if (!registered) {
    throw new TenantGateError(
      'INTERNAL',
      'libxml2 refused the schema file reader',
      {},
    );
  }
}
