/**
 * JSON schemas of the rollout routes: the same reports the CLI prints
 * (`tenantgate rollout status|advance|rollback|report --json`).
 */
import { SIGN_OFF_ROLES } from '../rollout/sign-off.js';
import { STAGES } from '../rollout/stages.js';

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const stage = { type: 'string', enum: STAGES } as const;
const nullableStage = { type: ['string', 'null'], enum: [...STAGES, null] };
const anyObject = { type: 'object', additionalProperties: true } as const;
const environment = { type: 'string', enum: ['staging', 'production'] };

function record(properties: Record<string, unknown>) {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
  } as const;
}

/** One gate with the raw numbers it was decided on. */
export const gateSchema = record({
  gate: str,
  status: { type: 'string', enum: ['PASS', 'FAIL', 'INCONCLUSIVE'] },
  numbers: anyObject,
});

const stateProperties = {
  stage,
  heldStage: nullableStage,
  stageStartedAt: time,
  updatedAt: time,
  updatedBy: str,
};

/** One readiness-style check (e.g. `rollback.verified`). */
export const checkSchema = record({
  id: str,
  section: str,
  environment: { type: ['string', 'null'] },
  title: str,
  status: { type: 'string', enum: ['READY', 'NOT_READY', 'INCONCLUSIVE'] },
  numbers: anyObject,
  threshold: str,
  samples: { type: 'array', items: str },
});

export const rolloutStatusSchema = record({
  ...stateProperties,
  next: nullableStage,
  gates: { type: 'array', items: gateSchema },
  canAdvance: bool,
  approvalNeeded: bool,
  rollbackVerification: { anyOf: [{ type: 'null' }, checkSchema] },
});

export const transitionSchema = record({
  id: str,
  at: time,
  fromStage: stage,
  toStage: stage,
  action: { type: 'string', enum: ['advance', 'pause', 'resume', 'rollback'] },
  actor: str,
  reason: str,
  approval: nullableStr,
  details: anyObject,
});

const flagValue = {
  type: ['object', 'null'],
  properties: {
    enabled: bool,
    cohortPercent: { type: ['number', 'null'] },
    allowCompanyIds: { type: 'array', items: str },
    denyCompanyIds: { type: 'array', items: str },
  },
} as const;

const flagChangeSchema = record({
  id: str,
  at: time,
  flag: str,
  environment,
  companyId: nullableStr,
  actor: str,
  reason: str,
  oldValue: flagValue,
  newValue: flagValue,
});

export const advanceReportSchema = record({
  from: stage,
  to: nullableStage,
  advanced: bool,
  blockedBy: {
    type: ['string', 'null'],
    enum: ['gates', 'approval', null],
  },
  gates: { type: 'array', items: gateSchema },
  flagChanges: { type: 'array', items: flagChangeSchema },
  transition: { ...transitionSchema, type: ['object', 'null'] },
});

export const rollbackReportSchema = record({
  from: stage,
  environment,
  trigger: str,
  steps: {
    type: 'array',
    items: record({
      step: str,
      ok: bool,
      durationMs: int,
      startedAt: time,
      details: anyObject,
    }),
  },
  flagOffMs: int,
  transition: transitionSchema,
});

export const signOffSchema = record({
  id: str,
  at: time,
  role: { type: 'string', enum: SIGN_OFF_ROLES },
  name: str,
  reportSha256: str,
  signature: str,
});

/** The evidence report (`tenantgate rollout report --json`). */
export const evidenceSchema = record({
  generatedAt: time,
  state: record(stateProperties),
  sections: {
    type: 'array',
    items: record({
      heading: str,
      lines: {
        type: 'array',
        items: record({
          text: str,
          ticked: bool,
          status: str,
          figures: str,
          at: nullableTime,
        }),
      },
    }),
  },
  transitions: { type: 'array', items: transitionSchema },
  contentSha256: str,
  signOffs: {
    type: 'array',
    items: record({
      role: str,
      name: nullableStr,
      date: nullableTime,
      signature: nullableStr,
      valid: bool,
    }),
  },
});

const reason = { type: 'string', minLength: 1, maxLength: 1000 } as const;

export const advanceBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    approval: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'the name of whoever approves, where the stage needs one',
    },
    reason,
  },
} as const;

export const pauseBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason },
  required: ['reason'],
} as const;

export const resumeBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason },
} as const;

export const rollbackBody = pauseBody;

export const signBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { type: 'string', enum: SIGN_OFF_ROLES },
    name: { type: 'string', minLength: 1, maxLength: 200 },
  },
  required: ['role', 'name'],
} as const;
