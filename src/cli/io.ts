import { readFileSync } from 'node:fs';
import { invalidInput } from '../errors/tenantgate-error.js';

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
  if (options.secretFile) return readFileSync(options.secretFile, 'utf8');
  if (options.secretStdin) return readStdin();
  throw invalidInput(
    'secret',
    'required',
    'secret: give --secret-file PATH or --secret-stdin (never on the command line)',
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Prints rows as aligned columns. */
export function printTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) {
    console.log('(none)');
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
  console.log(line(columns));
  for (const row of cells) console.log(line(row));
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
