import type { Command } from 'commander';
import type { TenantGate } from '../app.js';
import { openTenantGate } from '../app.js';
import { accountBinding } from '../accounts/account-service.js';
import { runAudit } from '../audit/audit.js';
import { loadSettings } from '../config/settings.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import {
  evaluateReadiness,
  type ReadinessOptions,
  type ReadinessReport,
} from '../rollout/checks.js';
import { formatReadiness } from '../rollout/checklist.js';
import { printJson } from './io.js';

type Act = <A extends unknown[]>(
  fn: (...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

async function withApp(
  run: (app: TenantGate) => Promise<number | void>,
): Promise<number> {
  const app = await openTenantGate(loadSettings(), { allowLocalKey: true });
  try {
    return (await run(app)) ?? 0;
  } finally {
    await app.close();
  }
}

interface ReadinessFlags {
  json?: boolean;
  minOperations?: string;
  minSends?: string;
  minFiscalizations?: string;
}

/**
 * The readiness report of the running platform: both environments in
 * its one database. What `npm start` prints (see `printReadiness`).
 */
export async function readinessOf(
  app: TenantGate,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const report = await runAudit(app.db, {
    accountEnvironment: app.settings.accountEnvironment,
    secretProbe: (a) =>
      app.vault.canOpen(a.secretEnvelope, accountBinding(a.companyId, a.id)),
  });
  return evaluateReadiness(
    {
      databases: { staging: app.db, production: app.db },
      audits: [{ label: 'shared', report }],
    },
    options,
  );
}

/** `tenantgate readiness` and `tenantgate rollout ...`. */
export function addRolloutCommands(program: Command, act: Act): void {
  program
    .command('readiness')
    .description(
      "the spec's prerequisites checked: READY, NOT READY or INCONCLUSIVE",
    )
    .option('--json', 'print JSON')
    .option('--min-operations <n>', 'minimum operations (default 100)')
    .option('--min-sends <n>', 'minimum e-invoice sends (default 100)')
    .option('--min-fiscalizations <n>', 'minimum fiscalizations (default 100)')
    .action(
      act(async (o: ReadinessFlags) =>
        withApp(async (app) => {
          const report = await readinessOf(app, {
            minOperations: count(o.minOperations, 'min-operations'),
            minEInvoiceSends: count(o.minSends, 'min-sends'),
            minFiscalizations: count(o.minFiscalizations, 'min-fiscalizations'),
          });
          if (o.json) printJson(report);
          else console.log(formatReadiness(report));
          return report.ready ? 0 : 1;
        }),
      ),
    );
}

function count(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw invalidInput(
      field,
      'positive-integer',
      `${field}: a whole number ≥ 1`,
    );
  }
  return n;
}
