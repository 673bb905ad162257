import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';

/** A schema finding of the CIS simulator. */
export interface CisSchemaResult {
  valid: boolean;
  errors: string[];
}

const SCHEMA_DIR = fileURLToPath(
  new URL('../../fixtures/xsd/cis/', import.meta.url),
);
const DOCUMENT_FILE = 'request.xml';

let schemas: Promise<{ main: XMLFileInfo; dsig: XMLFileInfo }> | undefined;

/**
 * Validates a CIS message (the SOAP body's root element, serialised on
 * its own) against FiskalizacijaSchema.xsd v1.9 with the XML signature
 * schema it imports. libxml2 compiles the schema on every call.
 */
export async function validateCisSchema(xml: string): Promise<CisSchemaResult> {
  schemas ??= loadSchemas();
  const { main, dsig } = await schemas;
  const result = await validateXML({
    xml: { fileName: DOCUMENT_FILE, contents: xml },
    schema: main,
    preload: [dsig],
  });
  if (result.valid) return { valid: true, errors: [] };
  const errors = result.errors.map((e) => e.message);
  return {
    valid: false,
    errors: errors.length > 0 ? errors : [result.rawOutput.trim()],
  };
}

async function loadSchemas() {
  const read = async (name: string): Promise<XMLFileInfo> => ({
    fileName: name,
    contents: await readFile(`${SCHEMA_DIR}/${name}`, 'utf8'),
  });
  const [main, dsig] = await Promise.all([
    read('FiskalizacijaSchema.xsd'),
    read('xmldsig-core-schema.xsd'),
  ]);
  return { main: main as XMLFileInfo, dsig: dsig as XMLFileInfo };
}
