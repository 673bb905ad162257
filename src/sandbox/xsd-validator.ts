import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  memoryPages,
  validateXML,
  type XMLFileInfo,
  type XMLValidationError,
} from 'xmllint-wasm';
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

/** Checks a UBL 2.1 document against the schema its root names. */
export interface UblSchemaValidator {
  validate(xml: string): Promise<XsdValidationResult>;
}

export interface UblSchemaValidatorOptions {
  /**
   * The folder holding `maindoc/` and `common/` of UBL 2.1 with the HR
   * extension. Default: `fixtures/xsd/ubl` of this repository, found
   * from this module's location (not the working directory).
   */
  schemaDir?: string;
}

interface LoadedSchemas {
  invoice: XMLFileInfo;
  creditNote: XMLFileInfo;
  common: XMLFileInfo[];
}

const DEFAULT_SCHEMA_DIR = fileURLToPath(
  new URL('../../fixtures/xsd/ubl/', import.meta.url),
);

// The name xmllint reports for the document in its messages.
const DOCUMENT_FILE = 'document.xml';

// libxml2's default ceiling (32 MiB) is too low for invoices that embed
// their PDF as base64; 256 MiB is a ceiling, not an allocation.
const MAX_MEMORY_PAGES = 256 * memoryPages.MiB;

/**
 * A validator whose schema files are read once, on first use, and
 * reused. libxml2 still compiles the schema on every call (xmllint-wasm
 * starts a fresh worker each time), so one call costs ~250 ms.
 */
export function createUblSchemaValidator(
  options: UblSchemaValidatorOptions = {},
): UblSchemaValidator {
  const schemaDir = options.schemaDir ?? DEFAULT_SCHEMA_DIR;
  let schemas: Promise<LoadedSchemas> | undefined;

  return {
    async validate(xml) {
      schemas ??= loadSchemas(schemaDir);
      const loaded = await schemas;
      const schema =
        rootLocalName(xml) === 'CreditNote'
          ? loaded.creditNote
          : loaded.invoice;
      return runXmllint(xml, schema, loaded.common);
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
 * The file names mirror the folder layout: the main schemas import
 * `../common/X.xsd`, which libxml2 resolves from `maindoc/` to
 * `common/X.xsd` in xmllint-wasm's in-memory file system.
 */
async function loadSchemas(schemaDir: string): Promise<LoadedSchemas> {
  const read = async (name: string): Promise<XMLFileInfo> => ({
    fileName: name,
    contents: await readFile(`${schemaDir}/${name}`, 'utf8'),
  });
  const commonNames = (await readdir(`${schemaDir}/common`))
    .filter((name) => name.endsWith('.xsd'))
    .sort();

  const [invoice, creditNote, ...common] = await Promise.all([
    read('maindoc/UBL-Invoice-2.1.xsd'),
    read('maindoc/UBL-CreditNote-2.1.xsd'),
    ...commonNames.map((name) => read(`common/${name}`)),
  ]);
  return { invoice: invoice!, creditNote: creditNote!, common };
}

async function runXmllint(
  xml: string,
  schema: XMLFileInfo,
  common: XMLFileInfo[],
): Promise<XsdValidationResult> {
  let result;
  try {
    result = await validateXML({
      xml: { fileName: DOCUMENT_FILE, contents: xml },
      schema,
      preload: common,
      maxMemoryPages: MAX_MEMORY_PAGES,
    });
  } catch (error) {
    // xmllint exits with an unexpected code: the schema did not compile
    // or memory ran out. That is our fault, not the document's.
    throw new TenantGateError(
      'INTERNAL',
      'xmllint could not run the UBL schema validation',
      { schema: schema.fileName },
      { cause: error },
    );
  }

  if (result.valid) return { valid: true, errors: [] };
  return { valid: false, errors: toFindings(result.errors, result.rawOutput) };
}

/**
 * Keeps the located messages; xmllint's other lines are the echoed
 * source line and caret of a parser error, or its closing summary.
 */
function toFindings(
  errors: readonly XMLValidationError[],
  rawOutput: string,
): XsdFinding[] {
  const findings = errors
    .filter((error) => error.loc?.fileName === DOCUMENT_FILE)
    .map((error) => ({
      line: error.loc?.lineNumber ?? 0,
      message: error.message,
    }));
  if (findings.length > 0) return findings;
  return [{ line: 0, message: rawOutput.trim() || 'Schema validation failed' }];
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
