import { fileURLToPath } from 'node:url';
import { EFISKALIZACIJA_NS } from '../../reporting/messages/xml.js';
import { compiledXsd, type XsdFinding } from '../compiled-xsd.js';

/** A schema finding: the line in the message (0 if unknown). */
export type Fiskalizacija2SchemaFinding = XsdFinding;

/** What the schema check found; `errors` is empty when `valid`. */
export interface Fiskalizacija2SchemaResult {
  valid: boolean;
  errors: Fiskalizacija2SchemaFinding[];
}

const schemaPath = (name: string): string =>
  fileURLToPath(
    new URL(`../../../fixtures/xsd/fiskalizacija2/${name}`, import.meta.url),
  );
const FISKALIZACIJA = schemaPath('eFiskalizacijaSchema.xsd');
const IZVJESTAVANJE = schemaPath('eIzvjestavanjeSchema.xsd');

/**
 * Validates one Fiskalizacija 2.0 message (the SOAP body's element,
 * serialised on its own) against eFiskalizacijaSchema.xsd or
 * eIzvjestavanjeSchema.xsd, chosen by the root's namespace, with the
 * XML signature schema they import. Each schema is compiled once per
 * process (libxml2-wasm).
 */
export function validateFiskalizacija2Schema(
  xml: string,
): Promise<Fiskalizacija2SchemaResult> {
  const schema = rootNamespaceIs(xml, EFISKALIZACIJA_NS)
    ? FISKALIZACIJA
    : IZVJESTAVANJE;
  try {
    return Promise.resolve(compiledXsd(schema).validate(xml));
  } catch (error) {
    return Promise.reject(error);
  }
}

function rootNamespaceIs(xml: string, namespace: string): boolean {
  const start = /<(?!\?|!)[^>]*>/.exec(xml)?.[0] ?? '';
  return start.includes(`"${namespace}"`);
}
