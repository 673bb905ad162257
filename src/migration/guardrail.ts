import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * The designated legacy adapters: the only files that may read legacy
 * credentials (the prior system's columns and environment variables).
 * Paths relative to the repository root, with forward slashes.
 */
export const LEGACY_ADAPTERS: readonly string[] = [
  // the V1 path: resolves and opens a company's legacy credentials
  'src/enforcement/gate.ts',
  // stores a legacy key, as the prior system did (import, demo)
  'src/companies/company-service.ts',
  // the fiscal demo seeds a legacy certificate, as the prior system did
  'src/fiscal/demo.ts',
  // re-wraps legacy envelopes when the master key rotates
  'src/vault/rotation.ts',
  // the migration tooling: reads legacy credentials to move them
  'src/migration/legacy-credentials.ts',
  'src/migration/provision.ts',
  'src/migration/backfill.ts',
  // builds a prior-system database with legacy credentials (demo, bench)
  'src/migration/legacy-demo.ts',
  // V1 inbound fan-out: which companies still poll on a legacy key
  'src/einvoice/inbound-worker.ts',
  // who reports a V1 company's e-invoices follows its legacy provider
  'src/reporting/report-store.ts',
  // the reporting demo leaves tenants on a legacy certificate alone
  'src/reporting/demo.ts',
  // the HTTP company view names the legacy provider (never a secret)
  'src/api/schemas.ts',
  // CLI errors about the legacy provider name its option, --provider
  'src/cli/option-names.ts',
  // names the legacy columns and variables in order to find them
  'src/migration/guardrail.ts',
];

/**
 * Files that may read the environment as a whole (DESIGN.md: one place
 * reads `process.env`). They are still scanned for legacy names.
 */
export const ENV_READERS: readonly string[] = [
  'src/config/settings.ts',
  // hands its own environment on to the deploy command it spawns
  'src/rollout/deploy-hooks.ts',
];

/** The prior system's credential columns. */
export const LEGACY_COLUMNS: readonly string[] = [
  'eInvoiceApiKeyEncrypted',
  'fiscalCertificateEncrypted',
  'eInvoiceProvider',
  'encryptedP12',
];

/**
 * Environment variables of legacy, global credentials: an intermediary
 * or fiscalization prefix and a secret-like word, upper case, e.g.
 * `EPOSLOVANJE_API_KEY`, `FINA_TOKEN`, `FISCAL_CERT_PASSWORD`.
 */
export const LEGACY_ENV_PATTERN =
  /^(?:EPOSLOVANJE|FINA|IE_?RACUNI|MOJ_?ERACUN|E_?INVOICE|FISCAL(?:IZATION)?|FISKAL[A-Z]*|CIS)_[A-Z0-9_]*?(?:KEY|TOKEN|SECRET|PASSWORD|PASS|PIN|CERT[A-Z]*|P12|PFX)[A-Z0-9_]*$/;

/** The kinds of access the guardrail refuses. */
export type ViolationRule =
  'legacy-column' | 'legacy-env' | 'env-computed' | 'env-object';

export interface Violation {
  file: string;
  line: number;
  rule: ViolationRule;
  /** The offending code, trimmed to one line. */
  snippet: string;
}

export interface GuardrailReport {
  root: string;
  filesScanned: number;
  violations: Violation[];
  adapters: readonly string[];
}

export interface GuardrailOptions {
  /** Files allowed to read legacy credentials. Default LEGACY_ADAPTERS. */
  adapters?: readonly string[];
  /** Files allowed to read `process.env` whole. Default ENV_READERS. */
  envReaders?: readonly string[];
}

const SOURCE_FILE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', '.git']);
const COLUMN_PATTERN = new RegExp(`\\b(?:${LEGACY_COLUMNS.join('|')})\\b`);

/**
 * Scans every source file under `dir` (paths reported relative to
 * `root`) and lists each read of a legacy credential outside the
 * designated adapters: legacy columns in SQL or property access,
 * legacy environment variables by dot, bracket or computed access, and
 * the environment object handed around whole.
 */
export function scanTree(
  root: string,
  dir: string,
  options: GuardrailOptions = {},
): GuardrailReport {
  const adapters = options.adapters ?? LEGACY_ADAPTERS;
  const envReaders = options.envReaders ?? ENV_READERS;
  const report: GuardrailReport = {
    root,
    filesScanned: 0,
    violations: [],
    adapters,
  };
  for (const path of sourceFiles(dir)) {
    const file = relative(root, path).split(sep).join('/');
    if (adapters.includes(file)) continue;
    report.filesScanned++;
    const text = readFileSync(path, 'utf8');
    report.violations.push(
      ...scanSource(text, file, { envReader: envReaders.includes(file) }),
    );
  }
  return report;
}

function* sourceFiles(dir: string): Generator<string> {
  if (statSync(dir).isFile()) {
    yield dir;
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(path);
    } else if (SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

/** Scans one file's text. `envReader`: may use `process.env` whole. */
export function scanSource(
  text: string,
  file: string,
  options: { envReader?: boolean } = {},
): Violation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const violations: Violation[] = [];
  const report = (node: ts.Node, rule: ViolationRule) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart());
    const snippet = node.getText(source).replace(/\s+/g, ' ').slice(0, 120);
    violations.push({ file, line: line + 1, rule, snippet });
  };

  const visit = (node: ts.Node): void => {
    const rule = ruleFor(node, options.envReader ?? false);
    if (rule === 'clean') return;
    if (rule) {
      report(node, rule);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return violations;
}

/**
 * The rule `node` breaks, null to look inside it, or `clean` for an
 * environment access judged whole (`process.env.LOG_LEVEL`).
 */
function ruleFor(
  node: ts.Node,
  envReader: boolean,
): ViolationRule | 'clean' | null {
  const isAccess =
    ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node);
  if (isAccess && isEnvObject(node.expression)) {
    return envKeyRule(node) ?? 'clean';
  }
  if (isEnvObject(node)) return envReader ? 'clean' : 'env-object';
  if (isEnvImport(node)) return envReader ? null : 'env-object';

  const text = constantText(node, true);
  if (text !== undefined) {
    if (COLUMN_PATTERN.test(text)) return 'legacy-column';
    if (LEGACY_ENV_PATTERN.test(text.trim())) return 'legacy-env';
    return null;
  }
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
    if (LEGACY_COLUMNS.includes(node.text)) return 'legacy-column';
    if (LEGACY_ENV_PATTERN.test(node.text)) return 'legacy-env';
  }
  return null;
}

/** `process.env`, `globalThis.process.env`, `process['env']`. */
function isEnvObject(node: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(node)) {
    return node.name.text === 'env' && isProcess(node.expression);
  }
  if (ts.isElementAccessExpression(node)) {
    const key = constantText(node.argumentExpression);
    return key === 'env' && isProcess(node.expression);
  }
  return false;
}

function isProcess(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return node.text === 'process';
  if (ts.isPropertyAccessExpression(node)) {
    return node.name.text === 'process';
  }
  return false;
}

/** `import { env } from 'node:process'` and the like. */
function isEnvImport(node: ts.Node): boolean {
  if (!ts.isImportDeclaration(node)) return false;
  const from = constantText(node.moduleSpecifier);
  if (from !== 'process' && from !== 'node:process') return false;
  const bindings = node.importClause?.namedBindings;
  if (!bindings || !ts.isNamedImports(bindings)) return false;
  return bindings.elements.some(
    (e) => (e.propertyName ?? e.name).text === 'env',
  );
}

/**
 * An access to one environment variable: `.NAME` and `['NAME']` are
 * judged by the name; a computed key cannot be proven harmless.
 */
function envKeyRule(
  access: ts.PropertyAccessExpression | ts.ElementAccessExpression,
): ViolationRule | null {
  if (ts.isPropertyAccessExpression(access)) {
    return LEGACY_ENV_PATTERN.test(access.name.text) ? 'legacy-env' : null;
  }
  const key = constantText(access.argumentExpression);
  if (key === undefined) return 'env-computed';
  return LEGACY_ENV_PATTERN.test(key) ? 'legacy-env' : null;
}

/**
 * The value of a string known at compile time: literals, templates
 * without substitutions, and `+` or templates over such strings.
 */
function constantText(node: ts.Node, lenient = false): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    return node.text;
  }
  if (ts.isParenthesizedExpression(node)) {
    return constantText(node.expression, lenient);
  }
  if (
    ts.isBinaryExpression(node) &&
    node.operatorToken.kind === ts.SyntaxKind.PlusToken
  ) {
    const left = constantText(node.left, lenient);
    const right = constantText(node.right, lenient);
    return left !== undefined && right !== undefined ? left + right : undefined;
  }
  if (ts.isTemplateExpression(node)) return templateText(node, lenient);
  return undefined;
}

/**
 * A template's text. `lenient`: unknown substitutions become a space,
 * so that a column named in SQL next to `${param}` is still found;
 * otherwise an unknown substitution makes the whole text unknown.
 */
function templateText(
  node: ts.TemplateExpression,
  lenient: boolean,
): string | undefined {
  let text = node.head.text;
  for (const span of node.templateSpans) {
    const value = constantText(span.expression, lenient);
    if (value === undefined && !lenient) return undefined;
    text += (value ?? ' ') + span.literal.text;
  }
  return text;
}
