import { invalidInput } from '../../errors/tenantgate-error.js';

/** An element to write: text content or child elements, never both. */
export interface XmlElement {
  name: string;
  attributes?: Record<string, string>;
  text?: string;
  children?: XmlElement[];
}

// XML 1.0 cannot carry these at all, not even escaped.
const CONTROL_CHARACTERS =
  // eslint-disable-next-line no-control-regex -- matching them is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Refuses a value XML cannot carry, naming the model field. `&`, `<`,
 * `>` and quotes are escaped when written, never refused.
 */
export function checkText(value: string, field: string): string {
  if (CONTROL_CHARACTERS.test(value)) {
    throw invalidInput(
      field,
      'xml-characters',
      `${field}: contains a control character that XML does not allow`,
    );
  }
  return value;
}

const TEXT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
};

function escape(value: string): string {
  return value.replace(/[&<>"]/g, (ch) => TEXT_ESCAPES[ch]!);
}

/** Serializes compactly (no pretty-printing), with the XML declaration. */
export function writeXml(root: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${write(root)}`;
}

function write(el: XmlElement): string {
  const attributes = Object.entries(el.attributes ?? {})
    .map(([key, value]) => ` ${key}="${escape(value)}"`)
    .join('');
  const body =
    el.text !== undefined
      ? escape(el.text)
      : (el.children ?? []).map(write).join('');
  return `<${el.name}${attributes}>${body}</${el.name}>`;
}
