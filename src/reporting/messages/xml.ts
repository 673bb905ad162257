import { Decimal } from 'decimal.js';
import { invalidInput } from '../../errors/tenantgate-error.js';
import { zagrebParts } from '../../fiscal/zagreb-time.js';

/** The namespace of EvidentirajERacun. */
export const EFISKALIZACIJA_NS =
  'http://www.porezna-uprava.gov.hr/fin/2024/types/eFiskalizacija';
/** The namespace of Naplata, Odbijanje and Isporuka. */
export const EIZVJESTAVANJE_NS =
  'http://www.porezna-uprava.gov.hr/fin/2024/types/eIzvjestavanje';

/** An element to write: text, or children (absent ones are skipped). */
export interface Node {
  name: string;
  text?: string;
  children?: (Node | undefined)[];
}

// XML 1.0 cannot carry these at all, not even escaped.
const CONTROL_CHARACTERS =
  // eslint-disable-next-line no-control-regex -- matching them is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\r': '&#13;',
};

/** Escapes text for element content or a double-quoted attribute. */
export function escapeText(value: string): string {
  return value.replace(/[&<>"\r]/g, (ch) => ESCAPES[ch]!);
}

/** Writes `nodes` compactly, each element name with `prefix:`. */
export function writeNodes(nodes: (Node | undefined)[], prefix: string) {
  let out = '';
  for (const node of nodes) {
    if (!node) continue;
    const name = `${prefix}:${node.name}`;
    const body =
      node.text !== undefined
        ? escapeText(node.text)
        : writeNodes(node.children ?? [], prefix);
    out += `<${name}>${body}</${name}>`;
  }
  return out;
}

/** An element with text, or undefined when the value is absent. */
export function leaf(name: string, value: string | undefined) {
  return value === undefined ? undefined : { name, text: value };
}

/**
 * Checks free text against the schema's `tekstN` type: 1..max
 * characters, none that XML cannot carry. Names the field.
 */
export function text(value: string, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidInput(field, 'required', `${field}: required`);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw invalidInput(
      field,
      'xml-characters',
      `${field}: contains a control character that XML does not allow`,
    );
  }
  if ([...value].length > max) {
    throw invalidInput(
      field,
      'max-length',
      `${field}: at most ${max} characters`,
      { max },
    );
  }
  return value;
}

/** Optional free text (see `text`). */
export function optionalText(
  value: string | undefined,
  field: string,
  max: number,
): string | undefined {
  return value === undefined ? undefined : text(value, field, max);
}

/** An OIB: 11 digits (the service checks the control digit: S007). */
export function oib(value: string, field: string): string {
  if (typeof value !== 'string' || !/^\d{11}$/.test(value)) {
    throw invalidInput(field, 'oib', `${field}: an OIB has 11 digits`);
  }
  return value;
}

/**
 * A date `YYYY-MM-DD` up to 2100-01-01; `from` is the earliest allowed
 * (2026-01-01 for `datumIzdavanja`).
 */
export function date(value: string, field: string, from?: string): string {
  const valid =
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
    new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  if (!valid) {
    throw invalidInput(field, 'date', `${field}: a date YYYY-MM-DD`);
  }
  if (value > '2100-01-01' || (from !== undefined && value < from)) {
    throw invalidInput(
      field,
      'date-range',
      `${field}: must be between ${from ?? '0001-01-01'} and 2100-01-01`,
      { from: from ?? null },
    );
  }
  return value;
}

function decimal(value: string, field: string): Decimal {
  if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value.trim())) {
    throw invalidInput(field, 'decimal', `${field}: a decimal number`);
  }
  return new Decimal(value.trim());
}

/** An amount with two decimals (`decimal2`), rounded half up. */
export function amount2(value: string, field: string): string {
  const d = decimal(value, field);
  if (d.decimalPlaces() > 2 && !d.equals(d.toDecimalPlaces(2))) {
    throw invalidInput(
      field,
      'decimal-places',
      `${field}: an amount has at most two decimals`,
    );
  }
  const fixed = d.toFixed(2);
  if (fixed.replace(/[-.]/g, '').length > 20) {
    throw invalidInput(field, 'total-digits', `${field}: at most 20 digits`);
  }
  return fixed;
}

/**
 * A quantity, price or rate (`decimal30i10`): the value keeps the scale
 * it was written with, up to ten decimals.
 */
export function decimal10(value: string, field: string): string {
  const d = decimal(value, field);
  if (d.decimalPlaces() > 10) {
    throw invalidInput(
      field,
      'decimal-places',
      `${field}: at most ten decimals`,
    );
  }
  const written = value.trim().split('.')[1]?.length ?? 0;
  const fixed = d.toFixed(Math.min(written, 10));
  if (fixed.replace(/[-.]/g, '').length > 30) {
    throw invalidInput(field, 'total-digits', `${field}: at most 30 digits`);
  }
  return fixed;
}

/** Optional `decimal10`. */
export function optionalDecimal10(
  value: string | undefined,
  field: string,
): string | undefined {
  return value === undefined ? undefined : decimal10(value, field);
}

/** Optional `amount2`. */
export function optionalAmount2(
  value: string | undefined,
  field: string,
): string | undefined {
  return value === undefined ? undefined : amount2(value, field);
}

/** A value of a closed code list, naming the field when it is not. */
export function code<T extends string>(
  value: string,
  allowed: readonly T[],
  field: string,
): T {
  if (!allowed.includes(value as T)) {
    throw invalidInput(
      field,
      'code-list',
      `${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
    );
  }
  return value as T;
}

/**
 * `datumVrijemeSlanja`: the Zagreb wall clock as
 * `YYYY-MM-DDTHH:MM:SS.SSSS` (the schema wants four decimals and no
 * zone).
 */
export function sendTime(instant: Date): string {
  const p = zagrebParts(instant);
  const ms = String(instant.getUTCMilliseconds()).padStart(3, '0');
  return (
    `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}` +
    `.${ms}0`
  );
}
