import { type Act } from './session.js';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { FLAG_NAMES, loadSettings } from '../config/settings.js';
import type { Database } from '../db/database.js';
import { openDatabase } from '../db/open.js';
import { checkEnv, FlagStore, type FlagChange } from '../flags/flag-store.js';
import { effectiveValue, type FlagValue } from '../flags/flag-value.js';
import {
  setOperatorFlag,
  type OperatorFlagChange,
} from '../rollout/enforcement-owner.js';
import { parseOnOff, printJson, printTable } from './io.js';
import { integerOption } from './options.js';

/**
 * Opens only the database: flag commands read and change the store
 * without starting a flag source, so an operator's shell is never
 * recorded as a process that ran with these values.
 */
async function withStore(
  run: (store: FlagStore, db: Database) => Promise<number | void>,
): Promise<number> {
  const db = await openDatabase(loadSettings());
  try {
    return (await run(new FlagStore(db), db)) ?? 0;
  } finally {
    await db.close();
  }
}

/** `tenantgate flags list | set | clear | history`. */
export function addFlagCommands(program: Command, act: Act): void {
  const flags = program
    .command('flags')
    .description('routing flags per deployment environment, with history');

  flags
    .command('list')
    .description('stored values, env overrides, effective values, on since')
    .option('--env <env>', 'staging or production (default: configured)')
    .option('--company <id>', 'effective values for this company')
    .option('--json', 'print JSON')
    .action(act(async (o) => withStore((store) => listFlags(store, o))));

  flags
    .command('set <flag> <on|off>')
    .description('set a flag; a reason is required')
    .requiredOption('--env <env>', 'staging or production')
    .option('--reason <text>', 'why (required)')
    .option('--company <id>', 'a per-company override')
    .option(
      '--cohort <percent>',
      'enforcement flag: percentage of companies',
      integerOption('--cohort', { min: 0, max: 100 }),
    )
    .option('--allow <ids>', 'enforcement flag: comma-separated company ids')
    .option('--deny <ids>', 'enforcement flag: comma-separated company ids')
    .option(
      '--override-rollout',
      'enforcement flag: switch on although the rollout stage does not ' +
        '(emergencies, tests; recorded in the history)',
    )
    .option('--actor <name>', 'who (default: user@host)')
    .option('--json', 'print JSON')
    .action(
      act(async (flag: string, onOff: string, o) =>
        withStore(async (_store, db) => {
          const change = await setOperatorFlag(db, setInput(flag, onOff, o));
          printChange(change, o.json);
        }),
      ),
    );

  flags
    .command('clear <flag>')
    .description('remove a stored value (FF_* variables decide again)')
    .requiredOption('--env <env>', 'staging or production')
    .option('--reason <text>', 'why (required)')
    .option('--company <id>', 'remove a per-company override')
    .option('--actor <name>', 'who (default: user@host)')
    .option('--json', 'print JSON')
    .action(
      act(async (flag: string, o) =>
        withStore(async (store) => {
          const change = await store.clear({
            flag,
            environment: o.env,
            companyId: o.company,
            actor: o.actor ?? defaultActor(),
            reason: o.reason ?? '',
          });
          printChange(change, o.json);
        }),
      ),
    );

  flags
    .command('history')
    .description('every change, newest first')
    .option('--env <env>', 'staging or production')
    .option('--flag <flag>')
    .option('--limit <n>', 'how many', integerOption('--limit', { min: 1 }), 50)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withStore(async (store) => {
          const changes = await store.history({
            flag: o.flag,
            environment: o.env,
            limit: o.limit,
          });
          if (o.json) return printJson(changes);
          printTable(changes.map(changeRow));
        }),
      ),
    );
}

async function listFlags(
  store: FlagStore,
  o: { env?: string; company?: string; json?: boolean },
): Promise<void> {
  const settings = loadSettings();
  const environment = checkEnv(o.env ?? settings.deploymentEnvironment);
  const snapshot = await store.snapshot();
  const rows = [];
  for (const flag of FLAG_NAMES) {
    const stored = snapshot.get(`${environment}/${flag}`);
    const envValue =
      environment === settings.deploymentEnvironment
        ? settings.flags[flag]
        : undefined;
    const effective = effectiveValue(flag, envValue, stored, o.company);
    rows.push({
      flag,
      environment,
      stored: describeValue(stored?.environmentWide ?? null),
      overrides: stored?.overrides.size ?? 0,
      ...(o.company === undefined
        ? {}
        : {
            override: describeValue(stored?.overrides.get(o.company) ?? null),
          }),
      envVariable: envValue ?? null,
      effective: effective.value,
      source: effective.source,
      onSince: await store.onSince(flag, environment),
    });
  }
  if (o.json) return printJson(rows);
  printTable(rows);
}

function setInput(
  flag: string,
  onOff: string,
  o: Record<string, string | number | boolean | undefined>,
): OperatorFlagChange {
  return {
    flag,
    environment: String(o.env),
    companyId: o.company === undefined ? undefined : String(o.company),
    enabled: parseOnOff('value', onOff),
    cohortPercent: typeof o.cohort === 'number' ? o.cohort : null,
    allowCompanyIds: idList(o.allow),
    denyCompanyIds: idList(o.deny),
    actor: o.actor === undefined ? defaultActor() : String(o.actor),
    reason: o.reason === undefined ? '' : String(o.reason),
    overrideRollout: o.overrideRollout === true,
  };
}

function printChange(change: FlagChange, json?: boolean): void {
  if (json) return printJson(change);
  printTable([changeRow(change)]);
}

function changeRow(c: FlagChange) {
  return {
    at: c.at,
    flag: c.flag,
    environment: c.environment,
    company: c.companyId,
    old: describeValue(c.oldValue),
    new: describeValue(c.newValue),
    actor: c.actor,
    reason: c.reason,
  };
}

function describeValue(v: FlagValue | null): string {
  if (v === null) return '(none)';
  if (!v.enabled) return 'off';
  const parts = ['on'];
  if (v.cohortPercent !== null) parts.push(`${v.cohortPercent}%`);
  if (v.allowCompanyIds.length > 0) {
    parts.push(`+${v.allowCompanyIds.length} allowed`);
  }
  if (v.denyCompanyIds.length > 0) {
    parts.push(`-${v.denyCompanyIds.length} denied`);
  }
  return parts.join(' ');
}

function idList(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

function defaultActor(): string {
  return `${userInfo().username}@${hostname()}`;
}
