import { createHash } from 'node:crypto';
import { FlagStore } from '../flags/flag-store.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import {
  fillPrerequisites,
  formatNumbers,
  statusLabel,
  type FilledLine,
} from './checklist.js';
import type { RolloutController } from './controller.js';
import type {
  RolloutState,
  StoredEvaluation,
  Transition,
} from './rollout-store.js';
import {
  listSignOffs,
  SIGN_OFF_ROLES,
  signatureOf,
  type SignOff,
} from './sign-off.js';

/** A box of the checklist, ticked by the machine or not. */
export interface EvidenceLine {
  text: string;
  ticked: boolean;
  status: string;
  figures: string;
  at: string | null;
}

export interface EvidenceSection {
  heading: string;
  lines: EvidenceLine[];
}

export interface SignOffEvidence {
  role: string;
  name: string | null;
  date: string | null;
  signature: string | null;
  /** True when it signed the report's current content. */
  valid: boolean;
}

/** The spec's checklist filled in, with numbers and timestamps. */
export interface Evidence {
  generatedAt: string;
  state: RolloutState;
  sections: EvidenceSection[];
  transitions: Transition[];
  /** SHA-256 of the signed content (every tick and transition). */
  contentSha256: string;
  signOffs: SignOffEvidence[];
}

const STAGE_SECTIONS = [
  {
    stage: 'STAGING_ENFORCED',
    heading: 'Stage 1: Staging Enforcement',
    // The spec's monitoring (no TenantViolationError) and acceptance
    // (zero IntegrationRequiredError, all workers on V2, operations
    // work), and the probe that shows enforcement live.
    gates: [
      'rollback.tenant_violation',
      'no_integration_required',
      'all_workers_v2',
      'all_v2',
      'operations_succeed',
      'probe_blocked',
    ],
  },
  {
    stage: 'PRODUCTION_SOFT_FAIL',
    heading: 'Stage 2: Production Soft-Fail Mode',
    gates: [
      'no_would_block',
      'all_v2',
      'no_fallback',
      'new_records_have_account',
    ],
  },
  {
    stage: 'PRODUCTION_ENFORCED',
    heading: 'Stage 3: Production Hard-Fail',
    gates: [
      'rollback.tenant_violation',
      'rollback.integration_required',
      'rollback.integration_error_rate',
    ],
  },
] as const;

/** Builds the evidence from the stored state, evaluations and flags. */
export async function buildEvidence(
  controller: RolloutController,
): Promise<Evidence> {
  const now = controller.clock();
  const store = controller.store;
  const state = await store.state(now);
  const transitions = await store.transitions();
  const evaluations = await store.evaluations(10_000);
  const readinessReport = await controller.readiness(now);

  const sections: EvidenceSection[] = fillPrerequisites(readinessReport).map(
    (s) => ({
      heading: `Prerequisites: ${s.heading}`,
      lines: s.lines.map((l) => prerequisiteLine(l, now)),
    }),
  );
  for (const s of STAGE_SECTIONS) {
    sections.push({
      heading: s.heading,
      lines: [
        enteredLine(s.stage, transitions),
        ...s.gates.map((g) => gateLine(g, s.stage, evaluations)),
      ],
    });
  }
  sections.push({
    heading: 'Rollback Plan',
    lines: await rollbackLines(controller, transitions, now),
  });
  sections.push({
    heading: 'Success Criteria',
    lines: await successLines(controller, state, evaluations),
  });

  const contentSha256 = sha256(
    JSON.stringify({
      stage: state.stage,
      transitions: transitions.map((t) => [t.id, t.toStage, t.at]),
      ticks: sections.map((s) => s.lines.map((l) => [l.text, l.ticked])),
    }),
  );
  const signed = await listSignOffs(controller.deps.control);
  return {
    generatedAt: now.toISOString(),
    state,
    sections,
    transitions,
    contentSha256,
    signOffs: SIGN_OFF_ROLES.map((role) =>
      signOffOf(role, signed, contentSha256),
    ),
  };
}

function prerequisiteLine(l: FilledLine, now: Date): EvidenceLine {
  return {
    text: l.text,
    ticked: l.status === 'READY',
    status: statusLabel(l.status),
    figures: l.checks
      .map((c) => `${c.id}: ${formatNumbers(c.numbers)}`)
      .join('; '),
    at: now.toISOString(),
  };
}

function enteredLine(stage: string, transitions: Transition[]): EvidenceLine {
  const entered = transitions.filter(
    (t) => t.toStage === stage && t.action === 'advance',
  );
  const last = entered[entered.length - 1];
  return {
    text: `Entered ${stage}`,
    ticked: last !== undefined,
    status: last ? 'DONE' : 'NOT YET',
    figures: last
      ? `by ${last.actor}` +
        (last.approval ? `, approved by ${last.approval}` : '')
      : '',
    at: last?.at.toISOString() ?? null,
  };
}

function gateLine(
  gate: string,
  stage: string,
  evaluations: StoredEvaluation[],
): EvidenceLine {
  const latest = evaluations.find((e) => e.gate === gate && e.stage === stage);
  return {
    text: gate,
    ticked: latest?.status === 'PASS',
    status: latest?.status ?? 'NOT EVALUATED',
    figures: latest ? JSON.stringify(latest.numbers) : '',
    at: latest?.at.toISOString() ?? null,
  };
}

/**
 * Each rollback (its steps, timed), then the spec's "Verify rollback"
 * over the ledger from it to the next transition (or now): ticked only
 * when `rollback.verified` is READY.
 */
async function rollbackLines(
  controller: RolloutController,
  transitions: Transition[],
  now: Date,
): Promise<EvidenceLine[]> {
  const rollbacks = transitions.filter((t) => t.action === 'rollback');
  if (rollbacks.length === 0) {
    return [
      {
        text: 'No rollback',
        ticked: true,
        status: 'NONE',
        figures: '',
        at: null,
      },
    ];
  }
  const lines: EvidenceLine[] = [];
  for (const t of rollbacks) {
    lines.push(rollbackLine(t));
    const after = transitions[transitions.indexOf(t) + 1];
    lines.push(await verifyLine(controller, t, after?.at ?? now));
  }
  return lines;
}

function rollbackLine(t: Transition): EvidenceLine {
  const d = t.details as { trigger?: string; flagOffMs?: number };
  const steps = (t.details.steps ?? []) as {
    step: string;
    ok: boolean;
    durationMs: number;
  }[];
  return {
    text: `Rollback from ${t.fromStage} (${d.trigger ?? 'manual'})`,
    ticked: steps.every((s) => s.ok),
    status: steps.every((s) => s.ok) ? 'DONE' : 'STEP FAILED',
    figures: steps
      .map((s) => `${s.step} ${s.ok ? 'ok' : 'FAILED'} ${s.durationMs} ms`)
      .join('; '),
    at: t.at.toISOString(),
  };
}

async function verifyLine(
  controller: RolloutController,
  rollback: Transition,
  until: Date,
): Promise<EvidenceLine> {
  const text = 'Verify rollback: V1 in use again, operations resume';
  const environment = rolledBackEnvironment(rollback);
  if (environment === null) {
    return {
      text,
      ticked: false,
      status: 'NOT EVALUATED',
      figures: '',
      at: null,
    };
  }
  const c = await controller.verifyRollbackIn(environment, rollback.at, until);
  return {
    text,
    ticked: c.status === 'READY',
    status: statusLabel(c.status),
    figures:
      `${c.id} ${environment}: ${formatNumbers(c.numbers)} ` +
      `(${c.threshold})` +
      (c.samples.length > 0 ? ` samples: ${c.samples.join('; ')}` : ''),
    at: until.toISOString(),
  };
}

/** The environment a rollback switched off, from its flag step. */
function rolledBackEnvironment(t: Transition): DeploymentEnvironment | null {
  const steps = (t.details.steps ?? []) as {
    step?: string;
    details?: { environment?: unknown };
  }[];
  const env = steps.find((s) => s.step === 'flag_store.enforcement_off')
    ?.details?.environment;
  return env === 'staging' || env === 'production' ? env : null;
}

async function successLines(
  controller: RolloutController,
  state: RolloutState,
  evaluations: StoredEvaluation[],
): Promise<EvidenceLine[]> {
  const flags = await new FlagStore(controller.deps.databases.production).list(
    'production',
  );
  const enforce = flags.find(
    (f) => f.flag === 'FF_ENFORCE_INTEGRATION_ACCOUNT' && f.companyId === null,
  );
  const complete = state.stage === 'COMPLETE';
  const gate = (g: string) => gateLine(g, 'PRODUCTION_ENFORCED', evaluations);
  const line = (text: string, ticked: boolean, figures: string) => ({
    text,
    ticked,
    status: ticked ? 'DONE' : 'NOT YET',
    figures,
    at: null,
  });
  const required = gate('no_integration_required');
  const v2 = gate('all_v2');
  const probe = gate('probe_blocked');
  return [
    line(
      'FF_ENFORCE_INTEGRATION_ACCOUNT=true in production',
      enforce?.enabled === true,
      enforce
        ? `set by ${enforce.updatedBy} at ${enforce.updatedAt.toISOString()}`
        : 'not set',
    ),
    line(
      'Zero IntegrationRequiredError from legitimate operations for 7+ days',
      complete && required.ticked,
      required.figures,
    ),
    line(
      'All integration operations use IntegrationAccount (V2 path)',
      complete && v2.ticked,
      v2.figures,
    ),
    line(
      'Legacy paths are dead code (blocked by enforcement)',
      complete && probe.ticked,
      complete
        ? `${probe.figures}; flags that can be retired: ` +
            'FF_INTEGRATION_ACCOUNT_OUTBOUND, FF_INTEGRATION_ACCOUNT_INBOUND, ' +
            'FF_INTEGRATION_ACCOUNT_FISCAL'
        : probe.figures,
    ),
    line(
      'Tenant isolation enforced by construction',
      complete,
      'row-level security and invariants (see Database State)',
    ),
  ];
}

function signOffOf(
  role: string,
  signed: SignOff[],
  contentSha256: string,
): SignOffEvidence {
  const mine = signed.filter((s) => s.role === role);
  const last = mine[mine.length - 1];
  if (!last) {
    return { role, name: null, date: null, signature: null, valid: false };
  }
  return {
    role,
    name: last.name,
    date: last.at.toISOString(),
    signature: last.signature,
    valid:
      last.reportSha256 === contentSha256 &&
      signatureOf(last) === last.signature,
  };
}

/** The evidence as the spec's checklist in Markdown. */
export function evidenceMarkdown(e: Evidence): string {
  const out = [
    '# Phase 5: Enforcement Rollout Checklist (evidence)',
    '',
    `> **Generated:** ${e.generatedAt}`,
    `> **Stage:** ${e.state.stage} since ${e.state.stageStartedAt.toISOString()}`,
    `> **Content SHA-256:** \`${e.contentSha256}\``,
  ];
  for (const s of e.sections) {
    out.push('', `## ${s.heading}`, '');
    for (const l of s.lines) {
      const when = l.at ? ` (${l.at})` : '';
      const figures = l.figures ? ` ${escape(l.figures)}` : '';
      out.push(
        `- [${l.ticked ? 'x' : ' '}] ${escape(l.text)}: **${l.status}**` +
          `${when}${figures}`,
      );
    }
  }
  out.push(
    '',
    '## Sign-Off',
    '',
    '| Role | Name | Date | Signature |',
    '| ---- | ---- | ---- | --------- |',
  );
  for (const s of e.signOffs) {
    const sig = s.signature
      ? `\`${s.signature.slice(0, 16)}…\`${s.valid ? '' : ' (INVALID: report changed)'}`
      : '';
    out.push(`| ${s.role} | ${s.name ?? ''} | ${s.date ?? ''} | ${sig} |`);
  }
  return out.join('\n') + '\n';
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/_/g, '\\_');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
