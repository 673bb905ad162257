import { invalidInput } from '../errors/tenantgate-error.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';

/**
 * A commander argument parser for a whole-number option: `--limit abc`
 * or `--limit -5` becomes INVALID_INPUT naming the option and its range
 * before any command runs. `max` defaults to none.
 */
export function integerOption(
  option: string,
  range: { min: number; max?: number },
): (value: string) => number {
  const { min, max } = range;
  const rule =
    max !== undefined
      ? `integer-${min}-${max}`
      : min === 1
        ? 'positive-integer'
        : `integer-${min}-or-more`;
  const wanted =
    max !== undefined
      ? `a whole number from ${min} to ${max}`
      : `a whole number, at least ${min}`;
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (
      Number.isSafeInteger(n) &&
      n >= min &&
      (max === undefined || n <= max)
    ) {
      return n;
    }
    throw invalidInput(
      option.replace(/^--/, ''),
      rule,
      `${option}: ${wanted} (got '${value}')`,
    );
  };
}

/** A JSON object given as an option's value (`--config '{"a":1}'`). */
export function parseJsonObject(
  text: string,
  option: string,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Refused below; the parser's message may quote the text.
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw invalidInput(
    option.replace(/^--/, ''),
    'json-object',
    `${option}: not a JSON object (e.g. '{"key":"value"}')`,
  );
}

/** A JSON document read from a file (`--model FILE.json`). */
export function parseJsonFile(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidInput(
      name.replace(/^--/, ''),
      'json',
      `${name}: the file is not valid JSON`,
    );
  }
}

/** Options that would put a secret on the command line, and where to. */
const SECRET_ARGUMENTS: Record<string, string> = {
  '--secret': '--secret-file PATH or --secret-stdin',
  '--password': '--password-file PATH or --password-stdin',
};

/**
 * Refuses `--secret VALUE` and `--password VALUE` (with or without
 * `=`) anywhere before `--`: arguments end up in shell history and
 * `ps`. The message never repeats the value.
 */
export function refuseSecretArguments(args: readonly string[]): void {
  for (const arg of args) {
    if (arg === '--') return;
    const option = arg.split('=', 1)[0] as string;
    const instead = SECRET_ARGUMENTS[option];
    if (instead === undefined) continue;
    const field = option.slice(2);
    throw invalidInput(
      field,
      'not-an-argument',
      `${option}: ${field}s are read from ${instead}, ` +
        'never from command-line arguments',
    );
  }
}

/** A commander argument parser for `--env staging|production`. */
export function environmentOption(
  option: string,
): (value: string) => DeploymentEnvironment {
  return (value) => {
    if (value === 'staging' || value === 'production') return value;
    throw invalidInput(
      option.replace(/^--/, ''),
      'deployment-environment',
      `${option}: staging or production (got '${value}')`,
    );
  };
}
