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

let schemas: Promise<{ main: XMLFileInfo; dsig: XMLFileInfo }> | undefined;

/** Documents one xmllint run validates at most. */
const MAX_BATCH = 256;

interface Pending {
  xml: string;
  resolve: (result: CisSchemaResult) => void;
  reject: (error: unknown) => void;
}

const pending: Pending[] = [];
let running = false;

/**
 * Validates a CIS message (the SOAP body's root element, serialised on
 * its own) against FiskalizacijaSchema.xsd v1.9 with the XML signature
 * schema it imports. Each xmllint run starts a worker thread and
 * compiles the schema, which costs far more than validating one
 * message, so messages that arrive while a run is busy wait and go
 * together in the next run (up to 256), each with its own findings.
 */
export function validateCisSchema(xml: string): Promise<CisSchemaResult> {
  return new Promise((resolve, reject) => {
    pending.push({ xml, resolve, reject });
    if (!running) void drain();
  });
}

async function drain(): Promise<void> {
  running = true;
  try {
    while (pending.length > 0) {
      const batch = pending.splice(0, MAX_BATCH);
      try {
        const results = await validateBatch(batch.map((p) => p.xml));
        batch.forEach((p, i) => p.resolve(results[i] as CisSchemaResult));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  } finally {
    running = false;
  }
}

async function validateBatch(xmls: string[]): Promise<CisSchemaResult[]> {
  schemas ??= loadSchemas();
  const { main, dsig } = await schemas;
  const names = xmls.map((_, i) => `request-${i}.xml`);
  const result = await validateXML({
    xml: xmls.map((contents, i) => ({
      fileName: names[i] as string,
      contents,
    })),
    schema: main,
    preload: [dsig],
  });
  const lines = new Set(result.rawOutput.split('\n').map((l) => l.trim()));
  const unplaced = result.errors
    .filter((e) => !e.loc || !names.includes(e.loc.fileName))
    .map((e) => e.message)
    .filter((m) => !/ fails to validate$/.test(m));
  return names.map((name) => {
    if (lines.has(`${name} validates`)) return { valid: true, errors: [] };
    const errors = result.errors
      .filter((e) => e.loc?.fileName === name)
      .map((e) => e.message);
    // xmllint said neither: an error it did not place fails the message.
    if (errors.length === 0) {
      errors.push(...(unplaced.length > 0 ? unplaced : [result.rawOutput]));
    }
    return { valid: false, errors };
  });
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
