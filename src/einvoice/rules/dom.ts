import { invalidInput } from '../../errors/tenantgate-error.js';
import { parseXmlTree, XmlElement, XmlSyntaxError } from './xml-tree.js';

/** An element of a parsed UBL document. */
export type UblElement = XmlElement;
type Element = XmlElement;

/**
 * Parses XML, refusing what is not well-formed. Elements are matched by
 * local name everywhere in the rule engine, so the prefixes a sender
 * chose (or a default namespace) do not matter.
 */
export function parseXml(xml: string): UblElement {
  try {
    return parseXmlTree(xml);
  } catch (error) {
    if (!(error instanceof XmlSyntaxError)) throw error;
    throw invalidInput(
      'document',
      'well-formed-xml',
      `document: not well-formed XML (${error.message})`,
    );
  }
}

/** The element children of `el` with local name `name` (all if omitted). */
export function kids(el: UblElement | undefined, name?: string): Element[] {
  if (!el) return [];
  if (name === undefined) return el.children;
  return el.children.filter((child) => child.localName === name);
}

/** The first element child of `el` with local name `name`. */
export function kid(
  el: UblElement | undefined,
  name: string,
): Element | undefined {
  if (!el) return undefined;
  for (const child of el.children) if (child.localName === name) return child;
  return undefined;
}

/** Every element reached by the path of local names (like XPath a/b/c). */
export function all(el: UblElement | undefined, path: string): Element[] {
  let current: Element[] = el ? [el] : [];
  for (const step of path.split('/')) {
    const next: Element[] = [];
    for (const node of current) next.push(...kids(node, step));
    current = next;
  }
  return current;
}

/** The first element reached by the path of local names. */
export function at(
  el: UblElement | undefined,
  path: string,
): Element | undefined {
  let current = el;
  for (const step of path.split('/')) {
    if (!current) return undefined;
    current = kid(current, step);
  }
  return current;
}

/** Every descendant of `el` with local name `name`, in document order. */
export function descendants(el: UblElement, name: string): Element[] {
  const out: Element[] = [];
  const walk = (node: Element): void => {
    for (const child of kids(node)) {
      if (child.localName === name) out.push(child);
      walk(child);
    }
  };
  walk(el);
  return out;
}

/** The whitespace-normalized text of an element; undefined if absent. */
export function text(el: UblElement | undefined): string | undefined {
  if (!el) return undefined;
  const raw = el.textContent;
  return /\s\s|[\t\n\r]/.test(raw)
    ? raw.replace(/\s+/g, ' ').trim()
    : raw.trim();
}

/** The normalized text at a path below `el` (see `at`). */
export function textAt(
  el: UblElement | undefined,
  path: string,
): string | undefined {
  return text(at(el, path));
}

/** True when the path exists and its text is not blank. */
export function has(el: UblElement | undefined, path: string): boolean {
  const value = textAt(el, path);
  return value !== undefined && value !== '';
}

/** An attribute's trimmed value, undefined if absent. */
export function attr(
  el: UblElement | undefined,
  name: string,
): string | undefined {
  if (!el || !el.hasAttribute(name)) return undefined;
  return (el.getAttribute(name) ?? '').trim();
}

/** The element's path from the root, as `/Invoice/cac:X[2]/cbc:Y`. */
export function pathOf(el: UblElement): string {
  const parts: string[] = [];
  for (let n: Element | null = el; n; n = n.parentNode) {
    let label = n.nodeName;
    if (n.parentNode) {
      const same = kids(n.parentNode, n.localName);
      if (same.length > 1) label += `[${same.indexOf(n) + 1}]`;
    }
    parts.unshift(label);
  }
  return '/' + parts.join('/');
}
