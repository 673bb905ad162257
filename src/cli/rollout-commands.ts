import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import type { TenantGate } from '../app.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import { loadSettings } from '../config/settings.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import {
  controllerOf,
  openEnvironmentDatabases,
  probeOf,
  readinessOf,
  type EnvironmentDatabases,
} from '../rollout/platform.js';
import {
  formatNumbers,
  formatReadiness,
  statusLabel,
} from '../rollout/checklist.js';
import type { ReadinessCheck } from '../rollout/checks.js';
import { hookFromSettings } from '../rollout/deploy-hooks.js';
import { buildEvidence, evidenceMarkdown } from '../rollout/evidence.js';
import { compressedRollout } from '../rollout/demo.js';
import { investigate } from '../rollout/investigation.js';
import { createLogger } from '../logging/logger.js';
import { recordSignOff } from '../rollout/sign-off.js';
import { Rollback, type WatchOutcome } from '../rollout/rollback.js';
import type { GateResult } from '../rollout/rollout-store.js';
import {
  checkOutputFile,
  printJson,
  printTable,
  writeOutputFile,
} from './io.js';
import { environmentOption, integerOption } from './options.js';

interface ReadinessFlags {
  json?: boolean;
  minOperations?: number;
  minSends?: number;
  minFiscalizations?: number;
}

const minimum = (option: string) => integerOption(option, { min: 1 });

function printGates(gates: GateResult[]): void {
  printTable(
    gates.map((g) => ({
      gate: g.gate,
      status: g.status,
      numbers: g.numbers,
    })),
  );
}

/** One check: status, id, environment, figures, rule and samples. */
function checkLine(c: ReadinessCheck): string {
  return (
    `${statusLabel(c.status)} ${c.id} ${c.environment ?? ''}: ` +
    `${formatNumbers(c.numbers)} (${c.threshold})` +
    (c.samples.length > 0 ? `\n  samples: ${c.samples.join('\n  ')}` : '')
  );
}

/** Set by --staging-database-url / --production-database-url. */
const cliUrls: { staging?: string; production?: string } = {};

/**
 * The environment database options of `readiness` and `rollout`; they
 * override STAGING_DATABASE_URL and PRODUCTION_DATABASE_URL.
 */
function withDatabaseOptions(command: Command): Command {
  return command
    .option('--staging-database-url <url>', "staging's own database")
    .option('--production-database-url <url>', "production's own database")
    .hook('preAction', (self) => {
      const o = self.opts<{
        stagingDatabaseUrl?: string;
        productionDatabaseUrl?: string;
      }>();
      if (o.stagingDatabaseUrl) cliUrls.staging = o.stagingDatabaseUrl;
      if (o.productionDatabaseUrl) {
        cliUrls.production = o.productionDatabaseUrl;
      }
    });
}

/**
 * Opens TenantGate and each environment's database (the flags, then
 * settings; unset: the platform's own) for one rollout command.
 */
function withRollout(
  run: (app: TenantGate, dbs: EnvironmentDatabases) => Promise<number | void>,
): Promise<number> {
  return withApp(async (app) => {
    const dbs = await openEnvironmentDatabases(app, {
      staging: cliUrls.staging ?? app.settings.environmentDatabases.staging,
      production:
        cliUrls.production ?? app.settings.environmentDatabases.production,
      sources: {
        staging: cliUrls.staging ? '--staging-database-url' : undefined,
        production: cliUrls.production
          ? '--production-database-url'
          : undefined,
      },
    });
    try {
      return await run(app, dbs);
    } finally {
      await dbs.close();
    }
  });
}

const ACTOR = '--actor <name>';
const ACTOR_HELP = 'who acts (default: $USER)';
const actorOf = (o: { actor?: string }) =>
  o.actor ?? loadSettings().operatorName ?? 'operator';

function addStageCommands(rollout: Command, act: Act): void {
  rollout
    .command('status')
    .description('the stage and the gates of the next step')
    .option('--json', 'print JSON')
    .option('--wait', 'exit 1 unless the next step can be taken')
    .action(
      act(async (o: { json?: boolean; wait?: boolean }) =>
        withRollout(async (app, dbs) => {
          const status = await controllerOf(app, dbs).status();
          if (o.json) printJson(status);
          else {
            console.log(
              `stage ${status.stage} since ` +
                `${status.stageStartedAt.toISOString()}; next ` +
                `${status.next ?? '-'}` +
                (status.approvalNeeded ? ' (needs --approve NAME)' : ''),
            );
            printGates(status.gates);
            if (status.rollbackVerification) {
              console.log(checkLine(status.rollbackVerification));
            }
          }
          return o.wait && !status.canAdvance ? 1 : 0;
        }),
      ),
    );
  rollout
    .command('advance')
    .description('enter the next stage when its gates pass')
    .option('--approve <name>', 'the named approval the stage needs')
    .option('--reason <text>', 'why (default: rollout: enter STAGE)')
    .option(ACTOR, ACTOR_HELP)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withRollout(async (app, dbs) => {
          const report = await controllerOf(app, dbs).advance({
            actor: actorOf(o),
            approval: o.approve,
            reason: o.reason,
          });
          if (o.json) printJson(report);
          else {
            console.log(
              report.advanced
                ? `${report.from} -> ${report.to}`
                : `stays at ${report.from}: blocked by ${report.blockedBy}`,
            );
            printGates(report.gates);
          }
          return report.advanced ? 0 : 1;
        }),
      ),
    );
  for (const name of ['pause', 'resume'] as const) {
    rollout
      .command(name)
      .description(`${name} the rollout`)
      .option('--reason <text>', 'why (required to pause)')
      .option(ACTOR, ACTOR_HELP)
      .action(
        act(async (o) => {
          if (name === 'pause' && !o.reason?.trim()) {
            throw invalidInput(
              'reason',
              'required',
              '--reason: required to pause the rollout (why it is held)',
            );
          }
          return withRollout(async (app, dbs) => {
            const c = controllerOf(app, dbs);
            const request = { actor: actorOf(o), reason: o.reason };
            const t =
              name === 'pause'
                ? await c.pause(request)
                : await c.resume(request);
            console.log(`${t.fromStage} -> ${t.toStage}`);
          });
        }),
      );
  }
}

/** `tenantgate readiness` and `tenantgate rollout ...`. */
export function addRolloutCommands(program: Command, act: Act): void {
  withDatabaseOptions(program.command('readiness'))
    .description(
      "the spec's prerequisites checked: READY, NOT READY or INCONCLUSIVE",
    )
    .option('--json', 'print JSON')
    .option(
      '--min-operations <n>',
      'minimum operations (default 100)',
      minimum('--min-operations'),
    )
    .option(
      '--min-sends <n>',
      'minimum e-invoice sends (default 100)',
      minimum('--min-sends'),
    )
    .option(
      '--min-fiscalizations <n>',
      'minimum fiscalizations (default 100)',
      minimum('--min-fiscalizations'),
    )
    .action(
      act(async (o: ReadinessFlags) =>
        withRollout(async (app, dbs) => {
          const report = await readinessOf(
            app,
            {
              minOperations: o.minOperations,
              minEInvoiceSends: o.minSends,
              minFiscalizations: o.minFiscalizations,
            },
            dbs,
          );
          if (o.json) printJson(report);
          else console.log(formatReadiness(report));
          return report.ready ? 0 : 1;
        }),
      ),
    );

  const rollout = withDatabaseOptions(
    program
      .command('rollout')
      .description('stages, gates, rollback, evidence and sign-off'),
  );
  addStageCommands(rollout, act);
  addRollbackCommands(rollout, act);
  addEvidenceCommands(rollout, act);
  rollout
    .command('demo')
    .description(
      'a compressed rollout on an in-memory database, with a forced rollback',
    )
    .action(
      act(async () =>
        compressedRollout(createLogger('silent'), (l) => console.log(l)),
      ),
    );
  rollout
    .command('probe')
    .description(
      "probe this environment: the legacy probe company's attempt must " +
        'be blocked under enforcement, the V2 one must succeed',
    )
    .option('--json', 'print JSON')
    .action(
      act(async (o: { json?: boolean }) =>
        withApp(async (app) => {
          const r = await probeOf(app);
          if (o.json) printJson(r);
          else {
            console.log(
              `probe ${r.environment} ${r.at}: enforcement live ` +
                `${r.enforcementLive ? 'yes' : 'no'}, V2 works ` +
                `${r.v2Works ? 'yes' : 'no'}`,
            );
            printTable([
              { probe: 'legacy', ...r.legacy },
              { probe: 'V2', ...r.v2 },
            ]);
          }
          return r.v2Works ? 0 : 1;
        }),
      ),
    );
  rollout
    .command('investigate')
    .description('after a rollback: failed operations, missing accounts, fixes')
    .option(
      '--env <env>',
      'staging or production (default: the deployment environment)',
      environmentOption('--env'),
    )
    .option('--json', 'print JSON')
    .action(
      act(async (o: { env?: DeploymentEnvironment; json?: boolean }) =>
        withRollout(async (app, dbs) => {
          const r = await investigate(controllerOf(app, dbs), {
            environment: o.env ?? app.settings.deploymentEnvironment,
          });
          if (o.json) return printJson(r);
          console.log(`${r.environment} ${r.since} .. ${r.until}`);
          console.log('\n== Failed operations ==');
          printTable(r.failedOperations.map((f) => ({ ...f })));
          console.log('\n== Missing accounts ==');
          printTable(r.missingAccounts.map((m) => ({ ...m })));
          console.log('\n== Fixes ==');
          for (const fix of r.fixes) console.log(`- ${fix}`);
        }),
      ),
    );
}

function addEvidenceCommands(rollout: Command, act: Act): void {
  rollout
    .command('report')
    .description("the spec's checklist filled in by the machine")
    .option('--json', 'JSON instead of Markdown')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(
      act(async (o: { json?: boolean; out?: string }) => {
        if (o.out !== undefined) checkOutputFile(o.out, '--out');
        return withRollout(async (app, dbs) => {
          const evidence = await buildEvidence(controllerOf(app, dbs));
          const text = o.json
            ? JSON.stringify(evidence, null, 2) + '\n'
            : evidenceMarkdown(evidence);
          if (o.out === undefined) process.stdout.write(text);
          else {
            writeOutputFile(o.out, text, '--out');
            console.log(`wrote ${o.out} (${evidence.contentSha256})`);
          }
        });
      }),
    );
  rollout
    .command('sign')
    .description('sign off the current report as one of the three roles')
    .requiredOption(
      '--role <role>',
      'Engineering Lead, DevOps or Product Owner',
    )
    .requiredOption('--name <name>', 'who signs')
    .action(
      act(async (o: { role: string; name: string }) =>
        withRollout(async (app, dbs) => {
          const controller = controllerOf(app, dbs);
          const evidence = await buildEvidence(controller);
          const s = await recordSignOff(controller.deps.control, {
            role: o.role,
            name: o.name,
            at: controller.clock(),
            reportSha256: evidence.contentSha256,
          });
          console.log(
            `${s.role} ${s.name} signed report ${s.reportSha256} ` +
              `at ${s.at.toISOString()}: ${s.signature}`,
          );
        }),
      ),
    );
}

function rollbackOf(app: TenantGate, dbs: EnvironmentDatabases): Rollback {
  return new Rollback(controllerOf(app, dbs), hookFromSettings(app.settings));
}

function addRollbackCommands(rollout: Command, act: Act): void {
  rollout
    .command('rollback')
    .description('enforcement off in the flag store, then the deploy hook')
    .requiredOption('--reason <text>', 'why')
    .option(ACTOR, ACTOR_HELP)
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withRollout(async (app, dbs) => {
          const report = await rollbackOf(app, dbs).rollback({
            actor: actorOf(o),
            reason: o.reason,
          });
          if (o.json) return printJson(report);
          console.log(
            `${report.from} -> ROLLED_BACK (${report.environment}); ` +
              `enforcement off in the store after ${report.flagOffMs} ms`,
          );
          printTable(
            report.steps.map((s) => ({
              step: s.step,
              ok: s.ok,
              durationMs: s.durationMs,
              details: s.details,
            })),
          );
          return report.steps.every((s) => s.ok) ? 0 : 1;
        }),
      ),
    );
  rollout
    .command('watch')
    .description('watch the rollback criteria; roll back on a breach')
    .option('--once', 'one tick, then exit')
    .option(
      '--interval <ms>',
      'between ticks (default: TENANTGATE_ROLLOUT_WATCH_MS, 1000)',
      integerOption('--interval', { min: 100 }),
    )
    .option('--json', 'print the tick (criteria and decision) as JSON')
    .action(
      act(async (o: { once?: boolean; interval?: number; json?: boolean }) =>
        withRollout(async (app, dbs) => {
          const rollback = rollbackOf(app, dbs);
          const interval = o.interval ?? app.settings.rolloutWatchMs;
          for (;;) {
            const outcome = await rollback.watchOnce();
            if (outcome.action !== 'none' || o.once) {
              if (o.json) printJson(outcome);
              else printWatch(outcome);
              return outcome.action === 'none' ? 0 : 1;
            }
            await new Promise((r) => setTimeout(r, interval));
          }
        }),
      ),
    );
}

/** What a watch tick checked (each criterion and its threshold), and why. */
function printWatch(outcome: WatchOutcome): void {
  const c = outcome.criteria;
  if (c === null) {
    console.log(
      `watch ${outcome.stage}: the stage does not enforce, so there are ` +
        'no rollback criteria to check',
    );
    console.log('decision: none');
    return;
  }
  const window = c.results[0]?.numbers;
  console.log(
    `watch ${outcome.stage} (${c.environment}), window ` +
      `${String(window?.since)} .. ${String(window?.until)}`,
  );
  printTable(c.results.map(criterionRow));
  console.log(`decision: ${decisionOf(outcome)}`);
}

/** Numbers shown elsewhere: the window in the heading, the threshold. */
const NOT_VALUES = new Set([
  'since',
  'until',
  'threshold',
  'maxRate',
  'minSample',
]);

function criterionRow(g: GateResult) {
  return {
    criterion: g.gate,
    status: g.status,
    value: Object.entries(g.numbers)
      .filter(([k]) => !NOT_VALUES.has(k))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' '),
    threshold: g.numbers.threshold,
  };
}

function decisionOf(outcome: WatchOutcome): string {
  if (outcome.action === 'rolled_back') {
    return `rolled back (${outcome.rollback?.trigger ?? 'breach'})`;
  }
  if (outcome.action === 'paused') {
    return 'paused (counterpart outage: not rolled back)';
  }
  return 'none (no rollback criterion failed, no counterpart outage)';
}
