import { AsyncLocalStorage } from 'node:async_hooks';
import { operator, owner, type Database } from '../db/database.js';
import { isForward, type ForwardStage, type Stage } from './stages.js';

/** The rollout's current state. */
export interface RolloutState {
  stage: Stage;
  /** The forward stage a PAUSED or ROLLED_BACK rollout left. */
  heldStage: ForwardStage | null;
  stageStartedAt: Date;
  updatedAt: Date;
  updatedBy: string;
}

export type TransitionAction = 'advance' | 'pause' | 'resume' | 'rollback';

/** One entry of the append-only transition history. */
export interface Transition {
  id: string;
  at: Date;
  fromStage: Stage;
  toStage: Stage;
  action: TransitionAction;
  actor: string;
  reason: string;
  approval: string | null;
  details: Record<string, unknown>;
}

export type GateStatus = 'PASS' | 'FAIL' | 'INCONCLUSIVE';
export type GatePurpose = 'entry' | 'acceptance' | 'rollback' | 'readiness';

/** One gate's outcome with the raw numbers it was decided on. */
export interface GateResult {
  gate: string;
  status: GateStatus;
  numbers: Record<string, unknown>;
}

export interface StoredEvaluation extends GateResult {
  id: string;
  at: Date;
  stage: Stage;
  purpose: GatePurpose;
}

interface StateRow {
  stage: Stage;
  heldStage: string | null;
  stageStartedAt: Date | string;
  updatedAt: Date | string;
  updatedBy: string;
}

/** The advisory lock key of rollout stage changes ("TGROLLOU"). */
export const ROLLOUT_LOCK_KEY = 0x5447_524f_4c4c_4f55n;

/** The stage change this async context already holds, if any. */
const held = new AsyncLocalStorage<Database>();
/** The tail of each database's in-process queue of stage changes. */
const queues = new WeakMap<Database, Promise<unknown>>();

/**
 * The rollout's state, transitions and gate evaluations (operator
 * scope). A database without a "Rollout" row is at LEGACY.
 */
export class RolloutStore {
  constructor(private readonly db: Database) {}

  /**
   * Runs one stage change (read the state, decide, set flags, record
   * the transition) alone: two shells, the API and the watcher never
   * interleave, so two advances cannot both enter the next stage and an
   * advance cannot switch enforcement back on under a rollback. In this
   * process a queue per database; across processes on PostgreSQL an
   * advisory lock held by a transaction while `fn` runs (PGlite has one
   * process per data folder). Re-entrant within one change.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (held.getStore() === this.db) return fn();
    const locked = () =>
      held.run(this.db, () =>
        this.db.kind === 'postgres'
          ? this.db.transaction(operator, async (tx) => {
              await tx.query('SELECT pg_advisory_xact_lock($1)', [
                ROLLOUT_LOCK_KEY.toString(),
              ]);
              return fn();
            })
          : fn(),
      );
    const before = queues.get(this.db) ?? Promise.resolve();
    const result = before.then(locked, locked);
    queues.set(
      this.db,
      result.catch(() => undefined),
    );
    return result;
  }

  /**
   * The current state. Never started: LEGACY since the rollout tables
   * were installed (`now` only when that record cannot be read).
   */
  async state(now: Date): Promise<RolloutState> {
    const rows = await this.db.transaction(operator, (tx) =>
      tx.query<StateRow>('SELECT * FROM "Rollout" WHERE id = 1'),
    );
    const row = rows[0];
    if (!row) {
      const since = (await this.installedAt()) ?? now;
      return {
        stage: 'LEGACY',
        heldStage: null,
        stageStartedAt: since,
        updatedAt: since,
        updatedBy: 'system',
      };
    }
    return {
      stage: row.stage,
      heldStage:
        row.heldStage !== null && isForward(row.heldStage)
          ? row.heldStage
          : null,
      stageStartedAt: new Date(row.stageStartedAt),
      updatedAt: new Date(row.updatedAt),
      updatedBy: row.updatedBy,
    };
  }

  /**
   * When the migration that created the rollout tables ran: the start
   * of LEGACY. Undefined when the migration record is not readable
   * (a connection that is not the owner).
   */
  private async installedAt(): Promise<Date | undefined> {
    try {
      const rows = await this.db.transaction(owner, (tx) =>
        tx.query<{ appliedAt: Date | string }>(
          `SELECT "appliedAt" FROM "_TenantGateMigration"
            WHERE name = '0008_rollout.sql'`,
        ),
      );
      return rows[0] ? new Date(rows[0].appliedAt) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Moves to a stage and appends the transition, in one transaction. */
  async transition(
    t: Omit<Transition, 'id'> & { heldStage: ForwardStage | null },
  ): Promise<Transition> {
    return this.db.transaction(operator, async (tx) => {
      await tx.query(
        `INSERT INTO "Rollout" (id, stage, "heldStage", "stageStartedAt",
           "updatedAt", "updatedBy")
         VALUES (1, $1, $2, $3, $3, $4)
         ON CONFLICT (id) DO UPDATE SET stage = EXCLUDED.stage,
           "heldStage" = EXCLUDED."heldStage",
           "stageStartedAt" = EXCLUDED."stageStartedAt",
           "updatedAt" = EXCLUDED."updatedAt",
           "updatedBy" = EXCLUDED."updatedBy"`,
        [t.toStage, t.heldStage, t.at, t.actor],
      );
      const rows = await tx.query<{ id: string }>(
        `INSERT INTO "RolloutTransition" (at, "fromStage", "toStage",
           action, actor, reason, approval, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [
          t.at,
          t.fromStage,
          t.toStage,
          t.action,
          t.actor,
          t.reason,
          t.approval,
          JSON.stringify(t.details),
        ],
      );
      return { ...t, id: String(rows[0]?.id) };
    });
  }

  /** Appends gate evaluations with their raw numbers. */
  async recordEvaluations(
    at: Date,
    stage: Stage,
    purpose: GatePurpose,
    results: readonly GateResult[],
  ): Promise<void> {
    if (results.length === 0) return;
    await this.db.transaction(operator, async (tx) => {
      for (const r of results) {
        await tx.query(
          `INSERT INTO "GateEvaluation" (at, stage, purpose, gate, status,
             numbers) VALUES ($1, $2, $3, $4, $5, $6)`,
          [at, stage, purpose, r.gate, r.status, JSON.stringify(r.numbers)],
        );
      }
    });
  }

  /** Transitions, oldest first. */
  async transitions(): Promise<Transition[]> {
    const rows = await this.db.transaction(operator, (tx) =>
      tx.query<Transition & { at: Date | string }>(
        'SELECT * FROM "RolloutTransition" ORDER BY at, id',
      ),
    );
    return rows.map((r) => ({ ...r, id: String(r.id), at: new Date(r.at) }));
  }

  /** Gate evaluations, newest first. Default limit 200. */
  async evaluations(limit = 200): Promise<StoredEvaluation[]> {
    const rows = await this.db.transaction(operator, (tx) =>
      tx.query<StoredEvaluation & { at: Date | string }>(
        `SELECT * FROM "GateEvaluation" ORDER BY at DESC, id DESC
          LIMIT $1`,
        [limit],
      ),
    );
    return rows.map((r) => ({ ...r, id: String(r.id), at: new Date(r.at) }));
  }
}
