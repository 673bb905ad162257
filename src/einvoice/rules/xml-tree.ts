/**
 * A small, strict XML reader for UBL documents, built for the rule
 * engine's speed (a general DOM costs more than all the rules). It
 * checks well-formedness (one root, matched tags, quoted attributes,
 * known entities, declared prefixes) and refuses DTDs, so no entity
 * expansion or external fetch can happen. Elements are matched by local
 * name; namespace URIs are left to the schema check.
 */
export class XmlElement {
  readonly children: XmlElement[] = [];
  /** Text and child elements in document order. */
  readonly parts: (string | XmlElement)[] = [];
  readonly localName: string;

  constructor(
    /** The qualified name as written, e.g. `cbc:ID`. */
    readonly nodeName: string,
    readonly attributes: ReadonlyMap<string, string>,
    readonly parentNode: XmlElement | null,
  ) {
    const colon = nodeName.indexOf(':');
    this.localName = colon < 0 ? nodeName : nodeName.slice(colon + 1);
  }

  /** The concatenated text of the element and its descendants. */
  get textContent(): string {
    if (this.children.length === 0) return this.parts.join('');
    return this.parts
      .map((p) => (typeof p === 'string' ? p : p.textContent))
      .join('');
  }

  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }

  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
}

/** Why a document is not well-formed, with the offset where it broke. */
export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = '[A-Za-z_][\\w.-]*(?::[A-Za-z_][\\w.-]*)?';
const TOKEN = new RegExp(
  [
    '<!--([\\s\\S]*?)-->',
    '<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>',
    '<\\?([\\s\\S]*?)\\?>',
    '<!DOCTYPE',
    `<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`,
    `</(${NAME})\\s*>`,
    '([^<]+)',
  ].join('|'),
  'y',
);
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));|&/g;
const NAMED: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

function decode(raw: string, offset: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(ENTITY, (match, named, dec, hex) => {
    if (named) return NAMED[named as string]!;
    if (dec || hex) {
      return String.fromCodePoint(parseInt(dec ?? hex, dec ? 10 : 16));
    }
    throw new XmlSyntaxError(`unescaped '&' or unknown entity`, offset);
  });
}

function readAttributes(raw: string, offset: number): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of raw.matchAll(ATTRIBUTE)) {
    const name = m[1]!;
    if (attributes.has(name)) {
      throw new XmlSyntaxError(`duplicate attribute ${name}`, offset);
    }
    attributes.set(name, decode(m[2] ?? m[3] ?? '', offset));
  }
  return attributes;
}

/** Prefixes in scope: xml is always declared. */
function declares(
  attributes: Map<string, string>,
  outer: ReadonlySet<string>,
): ReadonlySet<string> {
  let scope: Set<string> | undefined;
  for (const name of attributes.keys()) {
    if (!name.startsWith('xmlns:')) continue;
    scope ??= new Set(outer);
    scope.add(name.slice(6));
  }
  return scope ?? outer;
}

function checkPrefix(
  name: string,
  scope: ReadonlySet<string>,
  offset: number,
): void {
  const colon = name.indexOf(':');
  if (colon < 0) return;
  const prefix = name.slice(0, colon);
  if (prefix !== 'xmlns' && !scope.has(prefix)) {
    throw new XmlSyntaxError(`undeclared namespace prefix ${prefix}`, offset);
  }
}

/** Parses a document and returns its root element. */
export function parseXmlTree(xml: string): XmlElement {
  const source = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  let root: XmlElement | undefined;
  let current: XmlElement | null = null;
  const scopes: ReadonlySet<string>[] = [new Set(['xml'])];
  TOKEN.lastIndex = 0;

  while (TOKEN.lastIndex < source.length) {
    const offset = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new XmlSyntaxError('malformed markup', offset);
    const [token, , cdata, , open, rawAttributes, selfClose, close, text] = m;

    if (token === '<!DOCTYPE') {
      throw new XmlSyntaxError('a DTD is not allowed', offset);
    }
    if (open !== undefined) {
      if (!current && root) {
        throw new XmlSyntaxError('content after the root element', offset);
      }
      const attributes = readAttributes(rawAttributes ?? '', offset);
      const scope = declares(attributes, scopes[scopes.length - 1]!);
      checkPrefix(open, scope, offset);
      for (const name of attributes.keys()) checkPrefix(name, scope, offset);
      const el: XmlElement = new XmlElement(open, attributes, current);
      if (current) {
        current.children.push(el);
        current.parts.push(el);
      } else {
        root = el;
      }
      if (!selfClose) {
        current = el;
        scopes.push(scope);
      }
      continue;
    }
    if (close !== undefined) {
      if (!current || current.nodeName !== close) {
        throw new XmlSyntaxError(`unexpected closing tag ${close}`, offset);
      }
      current = current.parentNode;
      scopes.pop();
      continue;
    }
    const content = cdata ?? (text !== undefined ? decode(text, offset) : '');
    if (content === '') continue;
    if (current) current.parts.push(content);
    else if (cdata !== undefined || content.trim() !== '') {
      throw new XmlSyntaxError('text outside the root element', offset);
    }
  }
  if (!root) throw new XmlSyntaxError('no root element', 0);
  if (current) {
    throw new XmlSyntaxError(
      `unclosed element ${current.nodeName}`,
      xml.length,
    );
  }
  return root;
}
