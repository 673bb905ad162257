import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { EFISKALIZACIJA_NS } from '../../reporting/messages/xml.js';

/** A schema finding: the line in the message (0 if unknown). */
export interface Fiskalizacija2SchemaFinding {
  line: number;
  message: string;
}

/** What the schema check found; `errors` is empty when `valid`. */
export interface Fiskalizacija2SchemaResult {
  valid: boolean;
  errors: Fiskalizacija2SchemaFinding[];
}

const SCHEMA_DIR = fileURLToPath(
  new URL('../../../fixtures/xsd/fiskalizacija2/', import.meta.url),
);
const DOCUMENT_FILE = 'request.xml';

interface Schemas {
  fiskalizacija: XMLFileInfo;
  izvjestavanje: XMLFileInfo;
  dsig: XMLFileInfo;
}

let schemas: Promise<Schemas> | undefined;

/**
 * Validates one Fiskalizacija 2.0 message (the SOAP body's element,
 * serialised on its own) against eFiskalizacijaSchema.xsd or
 * eIzvjestavanjeSchema.xsd, chosen by the root's namespace, with the
 * XML signature schema they import. libxml2 compiles the schema on
 * every call (~100 ms).
 */
export async function validateFiskalizacija2Schema(
  xml: string,
): Promise<Fiskalizacija2SchemaResult> {
  schemas ??= loadSchemas();
  const loaded = await schemas;
  const schema = rootNamespaceIs(xml, EFISKALIZACIJA_NS)
    ? loaded.fiskalizacija
    : loaded.izvjestavanje;
  const result = await validateXML({
    xml: { fileName: DOCUMENT_FILE, contents: xml },
    schema,
    preload: [loaded.dsig],
  });
  if (result.valid) return { valid: true, errors: [] };
  const errors = result.errors
    .filter((e) => e.loc?.fileName === DOCUMENT_FILE)
    .map((e) => ({ line: e.loc?.lineNumber ?? 0, message: e.message }));
  return {
    valid: false,
    errors:
      errors.length > 0
        ? errors
        : [{ line: 0, message: result.rawOutput.trim() }],
  };
}

function rootNamespaceIs(xml: string, namespace: string): boolean {
  const start = /<(?!\?|!)[^>]*>/.exec(xml)?.[0] ?? '';
  return start.includes(`"${namespace}"`);
}

async function loadSchemas(): Promise<Schemas> {
  const read = async (name: string): Promise<XMLFileInfo> => ({
    fileName: name,
    contents: await readFile(`${SCHEMA_DIR}/${name}`, 'utf8'),
  });
  const [fiskalizacija, izvjestavanje, dsig] = await Promise.all([
    read('eFiskalizacijaSchema.xsd'),
    read('eIzvjestavanjeSchema.xsd'),
    read('xmldsig-core-schema.xsd'),
  ]);
  return {
    fiskalizacija: fiskalizacija!,
    izvjestavanje: izvjestavanje!,
    dsig: dsig!,
  };
}
