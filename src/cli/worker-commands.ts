import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import { checkEnv } from '../flags/flag-store.js';
import { WorkerRegistry } from '../workers/registry.js';
import { latestCheckRuns, type CheckRun } from '../workers/scheduled-checks.js';
import {
  dailyChecksOf,
  startWorkerProcess,
} from '../workers/worker-process.js';
import { printJson, printTable } from './io.js';

/** `tenantgate worker [checks | list]`. */
export function addWorkerCommands(program: Command, act: Act): void {
  const worker = program
    .command('worker')
    .description(
      'run the pg-boss worker: fiscal queue, daily checks, ledger rollups',
    )
    .action(
      act(async () =>
        withApp(
          async (app) => {
            const w = await startWorkerProcess(app);
            console.log(
              `worker: fiscal queue ${w.fiscal ? 'on' : 'off (no TENANTGATE_CIS_URL)'}` +
                `; scheduled ${w.scheduled.join(', ')} (Ctrl-C to stop)`,
            );
            await new Promise<void>((resolve) => {
              process.once('SIGINT', () => resolve());
              process.once('SIGTERM', () => resolve());
            });
            await w.stop();
          },
          { register: 'worker', recordFlags: true },
        ),
      ),
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
    .description('registered processes, their heartbeat and V1/V2 paths')
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
            })),
          );
        }),
      ),
    );
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
