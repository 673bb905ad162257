import type { Command, Option } from 'commander';
import type { TenantGateError } from '../errors/tenantgate-error.js';

/**
 * Fields of the services that a CLI option carries under another name:
 * the options (commander attribute names) that can carry each, most
 * specific first. A field not listed is carried by the option of the
 * same name (`reason` by `--reason`, `paidOn` by `--paid-on`).
 */
const CARRIED_BY: Record<string, readonly string[]> = {
  environment: ['env'],
  companyId: ['company'],
  // One rule covers all three: name the one the operator gave.
  cohort: ['cohort', 'allow', 'deny'],
  cohortPercent: ['cohort'],
  allowCompanyIds: ['allow'],
  denyCompanyIds: ['deny'],
  eInvoiceKind: ['einvoiceKind'],
  eInvoiceProvider: ['provider'],
  secret: ['secretFile', 'secretStdin'],
  password: ['passwordFile', 'passwordStdin'],
  'providerConfig.taxReporting': ['taxReporting'],
};

/** Objects given whole as one option's JSON (`providerConfig.x`). */
const GIVEN_AS_JSON: Record<string, string> = { providerConfig: 'config' };

/** Where a field came from: the option, and the key inside its JSON. */
interface Carrier {
  option: Option;
  key?: string;
}

/**
 * The message of an error as the operator should read it: a message
 * that begins with the field it names (`environment: …`) begins with
 * the option of `command` that carried the field instead (`--env: …`).
 * Unchanged when no option of `command` carries it (an argument, a
 * file's content). The error itself and its `[field …, rule …]` details
 * stay as they are: scripts match those, people read the message.
 */
export function messageForOperator(
  error: TenantGateError,
  command: Command | undefined,
): string {
  const field = error.details.field;
  if (command === undefined || typeof field !== 'string') {
    return error.message;
  }
  const prefix = `${field}: `;
  if (!error.message.startsWith(prefix)) return error.message;
  const rest = error.message.slice(prefix.length);
  const carrier = carrierOf(field, command);
  if (carrier?.option.long === undefined) return error.message;
  const key = carrier.key === undefined ? '' : `${carrier.key}: `;
  return `${carrier.option.long}: ${key}${rest}`;
}

/**
 * The option that carried `field`: one the operator gave before one
 * left unset (a missing `--reason` is still `--reason`), a dedicated
 * option before a JSON object that may also hold it.
 */
function carrierOf(field: string, command: Command): Carrier | undefined {
  const given = (option: Option) => {
    const source = command.getOptionValueSource(option.attributeName());
    return source !== undefined && source !== 'default';
  };
  const dedicated = (CARRIED_BY[field] ?? [field])
    .map((name) => optionNamed(command, name))
    .filter((option): option is Option => option !== undefined)
    .map((option): Carrier => ({ option }));
  const json = jsonCarrier(field, command);
  const all = json === undefined ? dedicated : [...dedicated, json];
  return all.find((c) => given(c.option)) ?? all[0];
}

/** `providerConfig.baseUrl` from `--config`, as key `baseUrl`. */
function jsonCarrier(field: string, command: Command): Carrier | undefined {
  const dot = field.indexOf('.');
  if (dot < 0) return undefined;
  const name = GIVEN_AS_JSON[field.slice(0, dot)];
  const option = name === undefined ? undefined : optionNamed(command, name);
  return option && { option, key: field.slice(dot + 1) };
}

function optionNamed(command: Command, name: string): Option | undefined {
  return command.options.find((o) => o.attributeName() === name);
}
