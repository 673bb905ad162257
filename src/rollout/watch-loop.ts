import { TenantGateError } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import type { WatchOutcome } from './rollback.js';

/** Consecutive failed ticks between two `rollout.watch_failed` lines. */
const FAILURES_PER_LOG = 60;

export interface WatchLoopOptions {
  /** Between the end of one tick and the start of the next. */
  intervalMs: number;
}

/** A running watch; `stop` waits for the tick under way. */
export interface WatchLoop {
  stop(): Promise<void>;
}

/**
 * Runs the rollout watch tick (`Rollback.watchOnce`, as `tenantgate
 * rollout watch` does) again and again until stopped: the first tick
 * at once, then one `intervalMs` after each ends. Unlike the command it
 * does not exit after acting: each rollback or pause is logged
 * (`rollout.watch_rolled_back`, `rollout.watch_paused`) and the watch
 * goes on, finding nothing to do until the rollout enforces again. A
 * failed tick is logged (`rollout.watch_failed`, the first and then
 * every 60th in a row) and the next one runs on time.
 */
export function startWatchLoop(
  tick: () => Promise<WatchOutcome>,
  logger: Logger,
  options: WatchLoopOptions,
): WatchLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let failures = 0;

  const once = async () => {
    try {
      const outcome = await tick();
      if (failures > 0) {
        logger.info({ event: 'rollout.watch_recovered', failures });
      }
      failures = 0;
      logOutcome(logger, outcome);
    } catch (error) {
      failures += 1;
      if (failures === 1 || failures % FAILURES_PER_LOG === 0) {
        logger.error({
          event: 'rollout.watch_failed',
          code: error instanceof TenantGateError ? error.code : undefined,
          reason: error instanceof Error ? error.message : 'unknown',
          consecutiveFailures: failures,
        });
      }
    }
  };
  const next = () => {
    timer = undefined;
    if (stopped) return;
    running = once().then(() => {
      if (!stopped) timer = setTimeout(next, options.intervalMs);
    });
  };

  next();
  return {
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}

/** One line per action taken; a quiet tick logs nothing. */
function logOutcome(logger: Logger, outcome: WatchOutcome): void {
  if (outcome.action === 'none') return;
  const criteria = outcome.criteria;
  if (outcome.action === 'paused') {
    logger.warn({
      event: 'rollout.watch_paused',
      stage: outcome.stage,
      environment: criteria?.environment,
    });
    return;
  }
  const rollback = outcome.rollback;
  logger.warn({
    event: 'rollout.watch_rolled_back',
    stage: outcome.stage,
    environment: rollback?.environment,
    trigger: rollback?.trigger,
    flagOffMs: rollback?.flagOffMs,
    hookOk: rollback?.steps.every((s) => s.ok),
    transitionId: rollback?.transition.id,
  });
}
