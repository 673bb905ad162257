import type { Database } from '../db/database.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { FlagStore, type FlagChange } from '../flags/flag-store.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import type { Logger } from '../logging/logger.js';
import { ledgerMetrics } from '../metrics/metrics.js';
import {
  ACCEPTANCE_DEFAULTS,
  allV2,
  newRecordsHaveAccount,
  noFallback,
  noIntegrationRequired,
  noWouldBlock,
  operationsSucceed,
  probeBlocked,
  readinessGates,
  watchWindowElapsed,
  workersOnV2,
  type AcceptanceOptions,
} from './acceptance.js';
import {
  evaluateReadiness,
  type ReadinessCheck,
  type ReadinessOptions,
  type ReadinessReport,
  type ReadinessSources,
} from './checks.js';
import { ROLLBACK_VERIFY_DEFAULTS, verifyRollback } from './rollback-verify.js';
import {
  RolloutStore,
  type GateResult,
  type RolloutState,
  type Transition,
} from './rollout-store.js';
import {
  ENFORCEMENT_ON_ENTRY,
  NEXT_STAGE,
  WATCHED_ENVIRONMENT,
  type ForwardStage,
  type Stage,
} from './stages.js';

const HOUR_MS = 3_600_000;
export const ENFORCE_FLAG = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

/** How the rollout runs. */
export interface RolloutConfig {
  /** Minimum time in each watched stage. Default 24 h. */
  watchWindowMs: number;
  /** Days of enforcement in production before COMPLETE. Default 7. */
  completeAfterMs: number;
  /** Stages that need a named approval to enter. Default production. */
  approvals: readonly ForwardStage[];
  acceptance: AcceptanceOptions;
  readiness: Omit<ReadinessOptions, 'now'>;
  /**
   * A registered process is presumed gone when its last heartbeat is
   * older than this. Default 30 000 ms (three 10 s beats).
   */
  workerStaleMs: number;
  /**
   * Legitimate operations since a rollback that `rollback.verified`
   * needs before it can be READY (its success rate is
   * `acceptance.minSuccessRate`). Default 50.
   */
  rollbackVerifyMinOperations: number;
}

export const ROLLOUT_DEFAULTS: RolloutConfig = {
  watchWindowMs: 24 * HOUR_MS,
  completeAfterMs: 7 * 24 * HOUR_MS,
  approvals: ['PRODUCTION_ENFORCED'],
  acceptance: ACCEPTANCE_DEFAULTS,
  readiness: {},
  workerStaleMs: 30_000,
  rollbackVerifyMinOperations: ROLLBACK_VERIFY_DEFAULTS.minOperations,
};

/** What the controller needs; the clock is injected for tests. */
export interface RolloutDeps {
  /** Where the rollout state is kept (the production database). */
  control: Database;
  /** Each environment's database (flags and ledger); may be shared. */
  databases: Record<DeploymentEnvironment, Database>;
  /** Runs the audits for the readiness gate. */
  audits: () => Promise<ReadinessSources['audits']>;
  logger: Logger;
  now?: () => Date;
  config?: Partial<RolloutConfig>;
}

/** Who asks for a transition, and why. */
export interface Request {
  actor: string;
  reason?: string;
  /** The name of whoever approves, when the stage needs one. */
  approval?: string;
}

/** What `advance` did, or why it did not. */
export interface AdvanceReport {
  from: Stage;
  to: ForwardStage | null;
  advanced: boolean;
  /** Why not: a gate, the approval, or the stage. */
  blockedBy: 'gates' | 'approval' | null;
  gates: GateResult[];
  flagChanges: FlagChange[];
  transition: Transition | null;
}

/** The state and what the next step needs. */
export interface RolloutStatus extends RolloutState {
  next: ForwardStage | null;
  gates: GateResult[];
  /** True when the next step's gates all pass. */
  canAdvance: boolean;
  approvalNeeded: boolean;
  /**
   * At ROLLED_BACK: `rollback.verified` since the rollback (V1 in use
   * again, operations resume); null at any other stage.
   */
  rollbackVerification: ReadinessCheck | null;
}

/**
 * The rollout controller: stages, their gates and approvals, and the
 * enforcement flag each stage sets through the flag store.
 */
export class RolloutController {
  readonly store: RolloutStore;
  readonly config: RolloutConfig;
  private readonly now: () => Date;

  constructor(readonly deps: RolloutDeps) {
    this.store = new RolloutStore(deps.control);
    this.config = { ...ROLLOUT_DEFAULTS, ...deps.config };
    this.now = deps.now ?? (() => new Date());
  }

  clock(): Date {
    return this.now();
  }

  /** The state and the gates of the next step (evaluated, not stored). */
  async status(): Promise<RolloutStatus> {
    const now = this.now();
    const state = await this.store.state(now);
    const next = nextOf(state);
    const gates = next === null ? [] : await this.gatesFor(state, now);
    return {
      ...state,
      next,
      gates,
      canAdvance: next !== null && gates.every((g) => g.status === 'PASS'),
      approvalNeeded: next !== null && this.config.approvals.includes(next),
      rollbackVerification: await this.rollbackVerification(state, now),
    };
  }

  /**
   * `rollback.verified` over the ledger of the environment rolled back,
   * from the rollback (the start of ROLLED_BACK) to `until`; null when
   * the rollout is not ROLLED_BACK.
   */
  async rollbackVerification(
    state: RolloutState,
    until: Date,
  ): Promise<ReadinessCheck | null> {
    if (state.stage !== 'ROLLED_BACK' || state.heldStage === null) {
      return null;
    }
    const env = WATCHED_ENVIRONMENT[state.heldStage];
    if (env === null) return null;
    return this.verifyRollbackIn(env, state.stageStartedAt, until);
  }

  /** `rollback.verified` in one environment over [since, until]. */
  async verifyRollbackIn(
    environment: DeploymentEnvironment,
    since: Date,
    until: Date,
  ): Promise<ReadinessCheck> {
    return verifyRollback(
      this.deps.databases[environment],
      environment,
      { since, until },
      {
        minOperations: this.config.rollbackVerifyMinOperations,
        minSuccessRate: this.config.acceptance.minSuccessRate,
      },
    );
  }

  /**
   * Moves to the next stage when its gates pass and, where configured,
   * a named approval is given; sets the enforcement flag the stage
   * needs. Every gate evaluated is stored with its numbers.
   */
  async advance(request: Request): Promise<AdvanceReport> {
    return this.store.exclusive(() => this.advanceAlone(request));
  }

  private async advanceAlone(request: Request): Promise<AdvanceReport> {
    const actor = required(request.actor, 'actor');
    const now = this.now();
    const state = await this.store.state(now);
    const to = nextOf(state);
    if (state.stage === 'PAUSED') {
      throw invalidInput('stage', 'not-paused', 'stage: PAUSED, resume first');
    }
    if (to === null) {
      throw invalidInput('stage', 'has-next', `stage: ${state.stage} is last`);
    }

    const gates = await this.gatesFor(state, now);
    const purpose = state.stage === 'LEGACY' ? 'entry' : 'acceptance';
    await this.store.recordEvaluations(now, state.stage, purpose, gates);
    const report = { from: state.stage, to, gates, flagChanges: [] };
    if (!gates.every((g) => g.status === 'PASS')) {
      return {
        ...report,
        advanced: false,
        blockedBy: 'gates',
        transition: null,
      };
    }
    const approval = request.approval?.trim() || null;
    if (this.config.approvals.includes(to) && approval === null) {
      return {
        ...report,
        advanced: false,
        blockedBy: 'approval',
        transition: null,
      };
    }

    const reason = request.reason?.trim() || `rollout: enter ${to}`;
    const flagChanges = await this.setEnforcement(to, actor, reason);
    const transition = await this.store.transition({
      at: now,
      fromStage: state.stage,
      toStage: to,
      action: 'advance',
      actor,
      reason,
      approval,
      heldStage: null,
      details: { gates: gates.length, flags: flagChanges.map(flagSummary) },
    });
    this.deps.logger.info(
      { event: 'rollout.advanced', from: state.stage, to, actor, approval },
      'rollout advanced',
    );
    return {
      ...report,
      advanced: true,
      blockedBy: null,
      flagChanges,
      transition,
    };
  }

  /** Holds the current stage (flags untouched). */
  async pause(request: Request): Promise<Transition> {
    return this.store.exclusive(() => this.pauseAlone(request));
  }

  private async pauseAlone(request: Request): Promise<Transition> {
    const actor = required(request.actor, 'actor');
    const reason = required(request.reason, 'reason');
    const now = this.now();
    const state = await this.store.state(now);
    if (state.stage === 'PAUSED' || state.stage === 'ROLLED_BACK') {
      throw invalidInput('stage', 'running', `stage: ${state.stage}`);
    }
    this.deps.logger.warn(
      { event: 'rollout.paused', stage: state.stage, actor, reason },
      'rollout paused',
    );
    return this.store.transition({
      at: now,
      fromStage: state.stage,
      toStage: 'PAUSED',
      action: 'pause',
      actor,
      reason,
      approval: null,
      heldStage: state.stage,
      details: {},
    });
  }

  /** Returns to the paused stage; its watch window starts again. */
  async resume(request: Request): Promise<Transition> {
    return this.store.exclusive(() => this.resumeAlone(request));
  }

  private async resumeAlone(request: Request): Promise<Transition> {
    const actor = required(request.actor, 'actor');
    const now = this.now();
    const state = await this.store.state(now);
    if (state.stage !== 'PAUSED' || state.heldStage === null) {
      throw invalidInput(
        'stage',
        'paused',
        `stage: ${state.stage}, not PAUSED`,
      );
    }
    return this.store.transition({
      at: now,
      fromStage: 'PAUSED',
      toStage: state.heldStage,
      action: 'resume',
      actor,
      reason: request.reason?.trim() || 'resume',
      approval: null,
      heldStage: null,
      details: {},
    });
  }

  /** The readiness report of both environments at `now`. */
  async readiness(now: Date = this.now()): Promise<ReadinessReport> {
    return evaluateReadiness(
      { databases: this.deps.databases, audits: await this.deps.audits() },
      { ...this.config.readiness, now: () => now },
    );
  }

  /** The gates of leaving the current stage (entering the next). */
  async gatesFor(state: RolloutState, now: Date): Promise<GateResult[]> {
    const stage = state.stage;
    if (stage === 'LEGACY' || stage === 'ROLLED_BACK') {
      return readinessGates(await this.readiness(now));
    }
    if (stage === 'PAUSED' || stage === 'COMPLETE') return [];
    return this.acceptance(stage, state.stageStartedAt, now);
  }

  private async acceptance(
    stage: 'STAGING_ENFORCED' | 'PRODUCTION_SOFT_FAIL' | 'PRODUCTION_ENFORCED',
    since: Date,
    now: Date,
  ): Promise<GateResult[]> {
    const env = stage === 'STAGING_ENFORCED' ? 'staging' : 'production';
    const db = this.deps.databases[env];
    const m = await ledgerMetrics(db, { environment: env, since, until: now });
    const o = this.config.acceptance;
    const workers = await workersOnV2(
      db,
      env,
      now,
      this.config.workerStaleMs,
      since,
    );
    if (stage === 'STAGING_ENFORCED') {
      return [
        watchWindowElapsed(since, now, this.config.watchWindowMs),
        noIntegrationRequired(m, o),
        workers,
        allV2(m, o),
        operationsSucceed(m, o),
        // Traffic evidence that enforcement is live in staging.
        await probeBlocked(db, env, since, now),
      ];
    }
    if (stage === 'PRODUCTION_SOFT_FAIL') {
      return [
        watchWindowElapsed(since, now, this.config.watchWindowMs),
        noWouldBlock(m, o),
        workers,
        allV2(m, o),
        noFallback(m, o),
        await newRecordsHaveAccount(db, since, now),
      ];
    }
    return [
      watchWindowElapsed(since, now, this.config.completeAfterMs),
      noIntegrationRequired(m, o),
      workers,
      allV2(m, o),
      await probeBlocked(db, env, since, now),
    ];
  }

  private async setEnforcement(
    stage: ForwardStage,
    actor: string,
    reason: string,
  ): Promise<FlagChange[]> {
    const changes: FlagChange[] = [];
    const entries = Object.entries(ENFORCEMENT_ON_ENTRY[stage]) as [
      DeploymentEnvironment,
      boolean,
    ][];
    for (const [environment, enabled] of entries) {
      const store = new FlagStore(this.deps.databases[environment]);
      changes.push(
        await store.set({
          flag: ENFORCE_FLAG,
          environment,
          enabled,
          actor,
          reason,
        }),
      );
    }
    return changes;
  }
}

function nextOf(state: RolloutState): ForwardStage | null {
  if (state.stage === 'PAUSED') return null;
  if (state.stage === 'ROLLED_BACK') return 'STAGING_ENFORCED';
  return NEXT_STAGE[state.stage];
}

function flagSummary(c: FlagChange) {
  return {
    flag: c.flag,
    environment: c.environment,
    enabled: c.newValue?.enabled ?? null,
  };
}

function required(value: string | undefined, field: string): string {
  const text = value?.trim() ?? '';
  if (text === '') {
    throw invalidInput(field, 'required', `${field}: required`);
  }
  return text;
}
