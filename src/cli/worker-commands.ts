import { loadSettings } from '../config/settings.js';
import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import { checkEnv } from '../flags/flag-store.js';
import { WorkerRegistry } from '../workers/registry.js';
import { latestCheckRuns, type CheckRun } from '../workers/scheduled-checks.js';
import {
  parseCapabilities,
  WORKER_CAPABILITIES,
} from '../workers/capabilities.js';
import {
  assertWorkerDatabase,
  dailyChecksOf,
  startWorkerProcess,
  type CapabilityPlan,
} from '../workers/worker-process.js';
import { printJson, printTable } from './io.js';

/** `tenantgate worker [--only L | --without L] [checks | list]`. */
export function addWorkerCommands(program: Command, act: Act): void {
  const worker = program
    .command('worker')
    .description(
      'run the pg-boss worker: fiscal queue, inbox polling, reporting, ' +
        'reconciliation and status sweeps, daily checks, ledger, probe, ' +
        'rollout watch (automatic rollback)',
    )
    .option(
      '--only <list>',
      `run only these, comma-separated: ${WORKER_CAPABILITIES.join(',')}`,
    )
    .option('--without <list>', 'run everything but these')
    .action(
      act(async (o: { only?: string; without?: string }) => {
        const selection = {
          only: o.only ? parseCapabilities(o.only, 'only') : undefined,
          without: o.without
            ? parseCapabilities(o.without, 'without')
            : undefined,
        };
        // Before opening: a refused worker must not register itself.
        assertWorkerDatabase(loadSettings());
        return withApp(
          async (app) => {
            // Listening from the start: a signal during startup stops
            // the worker once it has started, instead of killing it.
            const signalled = new Promise<void>((resolve) => {
              process.once('SIGINT', () => resolve());
              process.once('SIGTERM', () => resolve());
            });
            const w = await startWorkerProcess(app, selection);
            printCapabilities(w.capabilities);
            console.log(
              `worker: running, crons in ${w.tz} (Ctrl-C or SIGTERM stops it)`,
            );
            await signalled;
            await w.stop();
            console.log('worker: stopped');
          },
          { register: 'worker', recordFlags: true },
        );
      }),
    );

  worker
    .command('checks')
    .description('the latest daily invariants and audit runs')
    .option('--run', 'run both now and store them (as the schedule does)')
    .option('--json', 'print JSON')
    .action(
      act(async (o: { run?: boolean; json?: boolean }) =>
        withApp(async (app) => {
          const runs = o.run
            ? await dailyChecksOf(app)
            : await latestCheckRuns(app.db);
          if (o.json) printJson(runs);
          else printTable(runs.map(checkRow));
          return runs.every((r) => r.ready) ? 0 : 1;
        }),
      ),
    );

  worker
    .command('list')
    .description(
      'registered processes, their heartbeat, V1/V2 paths and last used',
    )
    .option('--env <env>', 'staging or production (default: configured)')
    .option('--json', 'print JSON')
    .action(
      act(async (o: { env?: string; json?: boolean }) =>
        withApp(async (app) => {
          const env = checkEnv(o.env ?? app.settings.deploymentEnvironment);
          const rows = await new WorkerRegistry(app.db).list(
            env,
            new Date(),
            3 * app.settings.heartbeatMs,
          );
          if (o.json) return printJson(rows);
          printTable(
            rows.map((w) => ({
              id: w.id,
              role: w.role,
              host: `${w.host}:${w.pid}`,
              version: w.version,
              live: w.live,
              heartbeatAt: w.heartbeatAt.toISOString(),
              paths: Object.entries(w.paths)
                .map(([op, path]) => `${op}=${path}`)
                .join(' '),
              lastUsed:
                Object.entries(w.pathsUsed)
                  .map(([op, u]) => `${op}=${u.path}@${u.at.toISOString()}`)
                  .join(' ') || '-',
            })),
          );
        }),
      ),
    );
}

/** One line per capability: on with its queues and crons, or why not. */
function printCapabilities(capabilities: readonly CapabilityPlan[]): void {
  const width = Math.max(...capabilities.map((c) => c.capability.length));
  for (const c of capabilities) {
    const what = c.on
      ? [
          ...c.queues.map((q) => `${q} (queued jobs)`),
          ...c.schedules.map((s) => `${s.queue} ${s.cron}`),
          ...(c.loops ?? []).map((l) => `${l.name} every ${l.everyMs} ms`),
        ].join(', ')
      : c.reason;
    const name = c.capability.padEnd(width);
    console.log(`worker: ${name} ${c.on ? 'on ' : 'off'} ${what}`);
  }
}

function checkRow(r: CheckRun) {
  return {
    check: r.check,
    at: r.at.toISOString(),
    ready: r.ready,
    failing: r.failing.join(', '),
    regressed: r.regressed.join(', '),
  };
}
