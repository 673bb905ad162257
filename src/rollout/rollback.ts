import { operator, type Database } from '../db/database.js';
import { eventErrorLayer } from '../errors/catalogue.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { FlagStore } from '../flags/flag-store.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import { ENFORCE_FLAG, type RolloutController } from './controller.js';
import type { DeployHook, HookStep } from './deploy-hooks.js';
import type { GateResult, Transition } from './rollout-store.js';
import { enforcing, type ForwardStage, type Stage } from './stages.js';

/** The rollback criteria's thresholds. */
export interface RollbackOptions {
  /** The rolling window. Default 15 minutes (the spec's first 15). */
  windowMs: number;
  /** Operations the error rate needs before it can breach. Default 50. */
  minSample: number;
  /** Largest integration-layer failure share. Default 0.01 (spec: 1%). */
  maxErrorRate: number;
}

export const ROLLBACK_DEFAULTS: RollbackOptions = {
  windowMs: 15 * 60_000,
  minSample: 50,
  maxErrorRate: 0.01,
};

/** The criteria over the window, and what they call for. */
export interface CriteriaReport {
  environment: DeploymentEnvironment;
  results: GateResult[];
  /** The first critical criterion that failed, or null. */
  breach: string | null;
  /** Counterpart failures above the threshold: pause, not roll back. */
  counterpartOutage: boolean;
}

/**
 * Evaluates the rollback criteria over the rolling window: any
 * TenantViolationError, any IntegrationRequiredError from a legitimate
 * operation, integration-layer failures above the rate. Counterpart
 * failures (CIS or intermediary down) are reported apart.
 */
export async function evaluateRollbackCriteria(
  db: Database,
  environment: DeploymentEnvironment,
  now: Date,
  o: RollbackOptions = ROLLBACK_DEFAULTS,
): Promise<CriteriaReport> {
  const since = new Date(now.getTime() - o.windowMs);
  const rows = await db.transaction(operator, (tx) =>
    tx.query<{
      errorName: string | null;
      errorLayer: string | null;
      outcome: string;
      count: string | number;
    }>(
      `SELECT "errorName", "errorLayer", outcome, count(*) AS count
         FROM "OperationEvent"
        WHERE environment = $1 AND origin <> 'probe'
          AND at >= $2 AND at <= $3
        GROUP BY 1, 2, 3`,
      [environment, since, now],
    ),
  );
  let total = 0;
  let violations = 0;
  let required = 0;
  let integration = 0;
  let counterpart = 0;
  for (const r of rows) {
    const n = Number(r.count);
    total += n;
    if (r.errorName === 'TenantViolationError') violations += n;
    if (r.errorName === 'IntegrationRequiredError') required += n;
    if (r.outcome === 'SUCCESS') continue;
    const layer = eventErrorLayer(r);
    if (layer === 'integration') integration += n;
    if (layer === 'counterpart') counterpart += n;
  }
  const window = { since: since.toISOString(), until: now.toISOString() };
  const rateThreshold = `rate <= ${o.maxErrorRate}, sampleSize >= ${o.minSample}`;
  const rate = (n: number) => (total === 0 ? null : n / total);
  const over = (n: number) =>
    total >= o.minSample && n / total > o.maxErrorRate;
  const results: GateResult[] = [
    {
      gate: 'rollback.tenant_violation',
      status: violations > 0 ? 'FAIL' : 'PASS',
      numbers: {
        count: violations,
        sampleSize: total,
        threshold: 'count = 0',
        ...window,
      },
    },
    {
      gate: 'rollback.integration_required',
      status: required > 0 ? 'FAIL' : 'PASS',
      numbers: {
        count: required,
        sampleSize: total,
        threshold: 'count = 0',
        ...window,
      },
    },
    {
      gate: 'rollback.integration_error_rate',
      status: over(integration)
        ? 'FAIL'
        : total >= o.minSample
          ? 'PASS'
          : 'INCONCLUSIVE',
      numbers: {
        failures: integration,
        sampleSize: total,
        rate: rate(integration),
        maxRate: o.maxErrorRate,
        minSample: o.minSample,
        threshold: rateThreshold,
        ...window,
      },
    },
    {
      gate: 'pause.counterpart_error_rate',
      status: over(counterpart) ? 'FAIL' : 'PASS',
      numbers: {
        failures: counterpart,
        sampleSize: total,
        rate: rate(counterpart),
        threshold: rateThreshold,
        ...window,
      },
    },
  ];
  const breach =
    results.find((r) => r.status === 'FAIL' && r.gate.startsWith('rollback'))
      ?.gate ?? null;
  return {
    environment,
    results,
    breach,
    counterpartOutage: over(counterpart),
  };
}

/** One recorded step of a rollback. */
export interface RollbackStep extends HookStep {
  startedAt: string;
}

export interface RollbackReport {
  from: Stage;
  environment: DeploymentEnvironment;
  trigger: string;
  steps: RollbackStep[];
  /** Milliseconds from the start until the flag was off in the store. */
  flagOffMs: number;
  transition: Transition;
}

export interface WatchOutcome {
  action: 'none' | 'rolled_back' | 'paused';
  /** The stage the tick found; only enforcing stages are watched. */
  stage: Stage;
  /** The criteria evaluated; null when the stage does not enforce. */
  criteria: CriteriaReport | null;
  rollback: RollbackReport | null;
}

/** Rollback by hand or on a breach; the watcher of a running stage. */
export class Rollback {
  readonly options: RollbackOptions;

  constructor(
    private readonly controller: RolloutController,
    private readonly hook: DeployHook,
    options: Partial<RollbackOptions> = {},
  ) {
    this.options = { ...ROLLBACK_DEFAULTS, ...options };
  }

  /**
   * One tick: evaluates the criteria of an enforcing stage, stores
   * them, rolls back on a critical breach, pauses on a counterpart
   * outage.
   */
  async watchOnce(): Promise<WatchOutcome> {
    return this.controller.store.exclusive(() => this.watchAlone());
  }

  private async watchAlone(): Promise<WatchOutcome> {
    const c = this.controller;
    const now = c.clock();
    const state = await c.store.state(now);
    if (!enforcing(state.stage)) {
      return {
        action: 'none',
        stage: state.stage,
        criteria: null,
        rollback: null,
      };
    }
    const env = environmentOf(state.stage as ForwardStage);
    const criteria = await evaluateRollbackCriteria(
      c.deps.databases[env],
      env,
      now,
      this.options,
    );
    await c.store.recordEvaluations(
      now,
      state.stage,
      'rollback',
      criteria.results,
    );
    if (criteria.breach !== null) {
      const rollback = await this.rollback({
        actor: 'rollout-watch',
        reason: `automatic: ${criteria.breach}`,
        trigger: criteria.breach,
      });
      return { action: 'rolled_back', stage: state.stage, criteria, rollback };
    }
    if (criteria.counterpartOutage) {
      await c.pause({
        actor: 'rollout-watch',
        reason: 'counterpart outage: pausing, not rolling back',
      });
      return { action: 'paused', stage: state.stage, criteria, rollback: null };
    }
    return { action: 'none', stage: state.stage, criteria, rollback: null };
  }

  /**
   * Rolls back: enforcement off in the flag store first, then the
   * deploy hook; each step timed and recorded with the transition.
   */
  async rollback(request: {
    actor: string;
    reason: string;
    trigger?: string;
  }): Promise<RollbackReport> {
    return this.controller.store.exclusive(() => this.rollbackAlone(request));
  }

  private async rollbackAlone(request: {
    actor: string;
    reason: string;
    trigger?: string;
  }): Promise<RollbackReport> {
    const c = this.controller;
    const started = performance.now();
    const state = await c.store.state(c.clock());
    const held = state.stage === 'PAUSED' ? state.heldStage : state.stage;
    if (held === null || held === 'LEGACY' || !isForwardStage(held)) {
      throw invalidInput(
        'stage',
        'rollback-able',
        `stage: nothing to roll back at ${state.stage}`,
      );
    }
    if (request.reason.trim() === '') {
      throw invalidInput('reason', 'required', 'reason: required');
    }
    const env = environmentOf(held);
    const steps: RollbackStep[] = [];

    const flagStart = new Date();
    const flags = new FlagStore(c.deps.databases[env]);
    const author = {
      actor: request.actor,
      reason: `rollback: ${request.reason}`,
    };
    const change = await flags.set({
      flag: ENFORCE_FLAG,
      environment: env,
      enabled: false,
      ...author,
    });
    // A company override that is on would keep enforcing that company
    // (overrides win over the environment-wide value): remove it.
    const overrides = (await flags.list(env)).filter(
      (f) => f.flag === ENFORCE_FLAG && f.companyId !== null && f.enabled,
    );
    for (const o of overrides) {
      await flags.clear({
        flag: ENFORCE_FLAG,
        environment: env,
        companyId: o.companyId ?? undefined,
        ...author,
      });
    }
    const flagOffMs = Math.round(performance.now() - started);
    steps.push({
      step: 'flag_store.enforcement_off',
      ok: true,
      durationMs: flagOffMs,
      startedAt: flagStart.toISOString(),
      details: {
        changeId: change.id,
        environment: env,
        overridesOff: overrides.length,
      },
    });

    const hookStart = new Date();
    const hookSteps = await this.hook.apply({
      environment: env,
      key: ENFORCE_FLAG,
      value: 'false',
    });
    for (const s of hookSteps) {
      steps.push({ ...s, startedAt: hookStart.toISOString() });
    }

    const trigger = request.trigger ?? 'manual';
    const transition = await c.store.transition({
      at: c.clock(),
      fromStage: state.stage,
      toStage: 'ROLLED_BACK',
      action: 'rollback',
      actor: request.actor,
      reason: request.reason,
      approval: null,
      heldStage: held,
      details: { trigger, hook: this.hook.name, flagOffMs, steps },
    });
    c.deps.logger.warn(
      {
        event: 'rollout.rolled_back',
        from: state.stage,
        environment: env,
        trigger,
        flagOffMs,
        hookOk: hookSteps.every((s) => s.ok),
      },
      'rollout rolled back',
    );
    return {
      from: state.stage,
      environment: env,
      trigger,
      steps,
      flagOffMs,
      transition,
    };
  }
}

function isForwardStage(stage: Stage): stage is ForwardStage {
  return stage !== 'PAUSED' && stage !== 'ROLLED_BACK';
}

function environmentOf(stage: ForwardStage): DeploymentEnvironment {
  return stage === 'STAGING_ENFORCED' ? 'staging' : 'production';
}
