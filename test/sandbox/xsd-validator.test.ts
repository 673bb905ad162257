import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  createUblSchemaValidator,
  validateUblSchema,
} from '../../src/sandbox/xsd-validator.js';

const SAMPLES_DIR = new URL(
  '../../fixtures/hr-einvoice-samples/',
  import.meta.url,
);
const SAMPLE_NAMES = readdirSync(SAMPLES_DIR).filter((n) => n.endsWith('.xml'));

function sample(name: string): string {
  return readFileSync(new URL(name, SAMPLES_DIR), 'utf8');
}

describe('UBL schema validation of the official HR samples', () => {
  it('finds all 16 samples', () => {
    expect(SAMPLE_NAMES).toHaveLength(16);
  });

  it.each(SAMPLE_NAMES)('%s is schema-valid', async (name) => {
    const result = await validateUblSchema(sample(name));

    expect(result).toEqual({ valid: true, errors: [] });
  });
});

describe('UBL schema validation findings', () => {
  it('reports a missing mandatory element with its line', async () => {
    const xml = sample('eRacun_PDV25.xml').replace(
      /<cbc:IssueDate>[^<]*<\/cbc:IssueDate>/,
      '',
    );

    const result = await validateUblSchema(xml);

    expect(result.valid).toBe(false);
    expect(result.errors[0]?.line).toBeGreaterThan(1);
    expect(result.errors[0]?.message).toMatch(/IssueDate/);
  });

  it('reports malformed XML as a finding instead of throwing', async () => {
    const result = await validateUblSchema('<Invoice><cbc:ID></Invoice>');

    expect(result.valid).toBe(false);
    expect(result.errors[0]).toMatchObject({ line: 1 });
  });

  it('checks a CreditNote root against the CreditNote schema', async () => {
    const invoiceAsCreditNote = sample('eRacun_PDV25.xml')
      .replace('<Invoice ', '<CreditNote ')
      .replace('</Invoice>', '</CreditNote>')
      .replace(':Invoice-2"', ':CreditNote-2"');

    const result = await validateUblSchema(invoiceAsCreditNote);

    expect(result.valid).toBe(false);
    expect(result.errors.map((e) => e.message).join('\n')).toMatch(
      /CreditNoteTypeCode/,
    );
  });

  it('refuses a root that is neither Invoice nor CreditNote', async () => {
    const result = await validateUblSchema('<Order xmlns="urn:x"/>');

    expect(result.valid).toBe(false);
    expect(result.errors).not.toHaveLength(0);
  });

  it('finds its schemas whatever the working directory', async () => {
    const before = process.cwd();
    process.chdir(tmpdir());
    try {
      const result = await createUblSchemaValidator().validate(
        sample('Odobrenje.xml'),
      );

      expect(result.valid).toBe(true);
    } finally {
      process.chdir(before);
    }
  });
});

describe('UBL schema compiled once', () => {
  it('checks 200 invoices without compiling the schema again', async () => {
    const xml = sample('eRacun_PDV25.xml');
    await validateUblSchema(xml);

    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      expect((await validateUblSchema(xml)).valid).toBe(true);
    }

    // A compile costs ~0.3 s; 200 checks of the compiled schema ~0.1 s.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('accepts a valid document right after refusing one', async () => {
    const refused = await validateUblSchema('<Invoice><cbc:ID></Invoice>');
    const accepted = await validateUblSchema(sample('eRacun_PDV25.xml'));

    expect(refused.valid).toBe(false);
    expect(accepted).toEqual({ valid: true, errors: [] });
  });
});
