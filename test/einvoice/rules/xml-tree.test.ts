import { describe, expect, it } from 'vitest';
import {
  parseXmlTree,
  XmlSyntaxError,
} from '../../../src/einvoice/rules/xml-tree.js';

const refuses = (xml: string, reason: string) =>
  expect(() => parseXmlTree(xml)).toThrow(
    expect.objectContaining({
      name: XmlSyntaxError.name,
      message: expect.stringContaining(reason),
    }),
  );

describe('XML reader of the rule engine', () => {
  it('decodes entities, character references and CDATA', () => {
    const root = parseXmlTree(
      '<?xml version="1.0"?><a x="1 &amp; 2"><b>&lt;&#65;&#x42;</b>' +
        '<![CDATA[<raw> & ]]></a>',
    );

    expect(root.getAttribute('x')).toBe('1 & 2');
    expect(root.textContent).toBe('<AB<raw> & ');
  });

  it('names elements by local name whatever their prefix', () => {
    const root = parseXmlTree('<p:a xmlns:p="urn:x"><p:b/></p:a>');

    expect(root.localName).toBe('a');
    expect(root.children[0]?.localName).toBe('b');
  });

  it('refuses a DTD, so no entity can expand', () => {
    refuses('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'DTD');
  });

  it('refuses mismatched and unclosed tags', () => {
    refuses('<a><b></a>', 'closing tag a');
    refuses('<a><b>', 'unclosed element b');
  });

  it('refuses undeclared prefixes and a bare ampersand', () => {
    refuses('<cbc:ID>1</cbc:ID>', 'undeclared namespace prefix cbc');
    refuses('<a>Tom & Jerry</a>', "unescaped '&'");
  });

  it('refuses a second root element', () => {
    refuses('<a/><b/>', 'content after the root element');
  });
});
