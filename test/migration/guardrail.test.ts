import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  scanSource,
  scanTree,
  type ViolationRule,
} from '../../src/migration/guardrail.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function rulesOf(snippet: string, envReader = false): ViolationRule[] {
  return scanSource(snippet, 'src/fixture.ts', { envReader }).map(
    (v) => v.rule,
  );
}

describe('guardrail: legacy credentials are read only by legacy adapters', () => {
  it('finds no read of a legacy credential in src/ outside the adapters', () => {
    const report = scanTree(ROOT, `${ROOT}src`);

    expect(report.filesScanned).toBeGreaterThan(20);
    expect(report.violations).toEqual([]);
  });
});

describe('guardrail: every access form is caught', () => {
  it.each([
    [
      'SQL naming a legacy column',
      'q(`SELECT "eInvoiceApiKeyEncrypted" FROM "Company"`);',
    ],
    [
      'SQL in a plain string',
      `q('SELECT "fiscalCertificateEncrypted" FROM x');`,
    ],
    [
      'SQL beside a substitution',
      'q(`SELECT "eInvoiceProvider", ${col} FROM c`);',
    ],
    ['property access', 'const k = company.eInvoiceApiKeyEncrypted;'],
    ['bracket access', "const k = company['fiscalCertificateEncrypted'];"],
    [
      'a name built from pieces',
      "const k = row['eInvoice' + 'ApiKeyEncrypted'];",
    ],
    ['destructuring', 'const { eInvoiceProvider } = company;'],
    ['the prior certificate table', 'q(`SELECT "encryptedP12" FROM f`);'],
  ])('a legacy column: %s', (_name, snippet) => {
    expect(rulesOf(snippet)).toContain('legacy-column');
  });

  it.each([
    ['dot access', 'const k = process.env.EPOSLOVANJE_API_KEY;'],
    ['bracket access', "const k = process.env['FINA_API_TOKEN'];"],
    ['template key', 'const k = process.env[`FISCAL_CERT_PASSWORD`];'],
    ['globalThis', 'const k = globalThis.process.env.CIS_CERT_PATH;'],
    ['process["env"]', "const k = process['env'].IE_RACUNI_API_KEY;"],
    ['a name kept in a constant', "const n = 'MOJ_ERACUN_SECRET'; f(n);"],
    ['a name built from pieces', "f('EPOSLOVANJE_' + 'API_KEY');"],
    ['destructuring', 'const { EPOSLOVANJE_API_KEY } = process.env;'],
  ])('a legacy environment variable: %s', (_name, snippet) => {
    expect(rulesOf(snippet)).toContain('legacy-env');
  });

  it.each([
    ['a variable key', 'const k = process.env[name];'],
    ['a template with a substitution', 'const k = process.env[`${p}_KEY`];'],
    ['a call', 'const k = process.env[keyFor(kind)];'],
  ])('a computed environment key: %s', (_name, snippet) => {
    expect(rulesOf(snippet)).toEqual(['env-computed']);
  });

  it.each([
    ['aliased', 'const env = process.env; f(env);'],
    ['enumerated', 'Object.keys(process.env).forEach(f);'],
    ['imported from node:process', "import { env } from 'node:process';"],
    ['spread', 'const all = { ...process.env };'],
  ])('the environment object handed around: %s', (_name, snippet) => {
    expect(rulesOf(snippet)).toEqual(['env-object']);
  });

  it('lets the settings module read the environment whole, but never a legacy name', () => {
    expect(rulesOf('loadSettings(process.env);', true)).toEqual([]);
    expect(rulesOf('const k = process.env.FINA_API_KEY;', true)).toEqual([
      'legacy-env',
    ]);
  });

  it('ignores comments and unrelated names', () => {
    const clean = [
      '// reads eInvoiceApiKeyEncrypted in the legacy adapter only',
      "const kind = 'FISCALIZATION_CIS';",
      'const level = process.env.LOG_LEVEL;',
      'const has = company.hasLegacyEInvoiceKey;',
    ].join('\n');
    expect(rulesOf(clean)).toEqual([]);
  });

  it('reports the file and line of each violation', () => {
    const found = scanSource(
      'const a = 1;\nconst k = process.env.FINA_API_KEY;\n',
      'src/x.ts',
    );
    expect(found).toEqual([
      {
        file: 'src/x.ts',
        line: 2,
        rule: 'legacy-env',
        snippet: 'process.env.FINA_API_KEY',
      },
    ]);
  });
});
