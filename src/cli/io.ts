import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { invalidInput, isTenantGateError } from '../errors/tenantgate-error.js';

/** What the operator is told when a file cannot be read or written. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ENAMETOOLONG: 'the path is too long',
};

/**
 * Runs a file operation on the path an option (`--file`) or argument
 * (`file`) names; a failure becomes INVALID_INPUT naming it and the
 * rule, never a stack trace.
 */
function onFile<T>(path: string, name: string, rule: FileRule, run: () => T) {
  try {
    return run();
  } catch (error) {
    if (isTenantGateError(error)) throw error;
    throw fileRefused(path, name, rule, fileProblem(error));
  }
}

type FileRule = 'readable-file' | 'writable-file';

/** Why a file failed, in the operator's words; `unusable` if unknown. */
function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' ? FILE_PROBLEMS[code] : undefined) ?? 'unusable'
  );
}

/**
 * Reads a file named by a secret-bearing option (`--secret-file`,
 * `--password-file`). A failure names the option and the reason but
 * never the path: an operator may have typed the secret itself where
 * the path belongs.
 */
function readSecretFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const why = error as { code?: unknown } | null;
    const problem = why?.code === 'ENOENT' ? 'not found' : fileProblem(error);
    throw invalidInput(
      option.replace(/^--/, ''),
      'readable-file',
      `${option}: the file cannot be read (${problem})`,
    );
  }
}

function fileRefused(path: string, name: string, rule: FileRule, why: string) {
  const verb = rule === 'readable-file' ? 'cannot read' : 'cannot write';
  return invalidInput(
    name.replace(/^--/, ''),
    rule,
    `${name}: ${verb} ${path} (${why})`,
    { path },
  );
}

/** The text (UTF-8) of a file an option or argument names. */
export function readInputFile(path: string, name: string): string {
  return onFile(path, name, 'readable-file', () => readFileSync(path, 'utf8'));
}

/**
 * Refuses a file or folder an option or argument names that cannot be
 * read (missing, no permission) before any work is done.
 */
export function checkInputPath(path: string, name: string): void {
  onFile(path, name, 'readable-file', () => statSync(path));
}

/** The bytes of a file an option or argument names (PKCS#12, CA). */
export function readInputBytes(path: string, name: string): Buffer {
  return onFile(path, name, 'readable-file', () => readFileSync(path));
}

/**
 * Refuses an output path before any work is done: its folder must
 * exist, and the path must not be a folder.
 */
export function checkOutputFile(path: string, name: string): void {
  const refuse = (why: string) => fileRefused(path, name, 'writable-file', why);
  onFile(path, name, 'writable-file', () => {
    const folder = statSync(dirname(path), { throwIfNoEntry: false });
    if (!folder) throw refuse(`no folder ${dirname(path)}`);
    if (!folder.isDirectory()) throw refuse(`${dirname(path)} is a file`);
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      throw refuse(FILE_PROBLEMS.EISDIR as string);
    }
  });
}

/** Writes a file an option names; INVALID_INPUT naming it on failure. */
export function writeOutputFile(path: string, text: string, name: string) {
  onFile(path, name, 'writable-file', () => writeFileSync(path, text));
}

/**
 * Runs `write` (which creates `dir` and files in it); a file system
 * failure becomes INVALID_INPUT naming the option.
 */
export function writeOutputDir<T>(dir: string, name: string, write: () => T) {
  return onFile(dir, name, 'writable-file', write);
}

/**
 * Reads a secret from a file or standard input, never from an argument
 * (arguments end up in shell history and `ps`).
 */
export async function readSecret(options: {
  secretFile?: string;
  secretStdin?: boolean;
}): Promise<string> {
  if (options.secretFile && options.secretStdin) {
    throw invalidInput(
      'secret',
      'one-source',
      'secret: use either --secret-file or --secret-stdin',
    );
  }
  if (options.secretFile) {
    return readSecretFile(options.secretFile, '--secret-file');
  }
  if (options.secretStdin) return readStdin();
  throw invalidInput(
    'secret',
    'required',
    'secret: give --secret-file PATH or --secret-stdin (never on the command line)',
  );
}

/**
 * A PKCS#12 password from a file or standard input, without one
 * trailing newline (spaces are kept).
 */
export async function readPassword(options: {
  passwordFile?: string;
  passwordStdin?: boolean;
}): Promise<string> {
  if (options.passwordFile && options.passwordStdin) {
    throw invalidInput(
      'password',
      'one-source',
      'password: use either --password-file or --password-stdin',
    );
  }
  let raw: string;
  if (options.passwordFile) {
    raw = readSecretFile(options.passwordFile, '--password-file');
  } else if (options.passwordStdin) raw = await readStdin();
  else {
    throw invalidInput(
      'password',
      'required',
      'password: give --password-file PATH or --password-stdin',
    );
  }
  return raw.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Prints rows as aligned columns, to standard output unless `to` says
 * `stderr` (when standard output carries a document).
 */
export function printTable(
  rows: Record<string, unknown>[],
  to: 'stdout' | 'stderr' = 'stdout',
): void {
  const print = to === 'stderr' ? console.error : console.log;
  if (rows.length === 0) {
    print('(none)');
    return;
  }
  const columns = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  print(line(columns));
  for (const row of cells) print(line(row));
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function parseOnOff(field: string, value: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw invalidInput(field, 'on-off', `${field}: use on or off`);
}
