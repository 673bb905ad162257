import type { FastifyRequest } from 'fastify';
import {
  isTenantGateError,
  TenantGateError,
} from '../../errors/tenantgate-error.js';
import { buildEvidence, evidenceMarkdown } from '../../rollout/evidence.js';
import { recordSignOff } from '../../rollout/sign-off.js';
import { requireOperator } from '../auth.js';
import type { ApiRoutes } from '../context.js';
import { rollbackOf, rolloutOf } from '../rollout-wiring.js';
import { problemResponses } from '../schemas.js';
import {
  advanceBody,
  advanceReportSchema,
  evidenceSchema,
  pauseBody,
  resumeBody,
  rollbackBody,
  rollbackReportSchema,
  rolloutStatusSchema,
  signBody,
  signOffSchema,
  transitionSchema,
} from '../rollout-schemas.js';

const tags = ['rollout (operator)'];

/** The operator key, recorded as the actor of every rollout step. */
function actorOf(request: FastifyRequest): string {
  return `operator-key:${request.principal?.keyId ?? 'unknown'}`;
}

/**
 * A step the current stage does not allow (the controller says so with
 * INVALID_INPUT on `stage`) is a conflict with the rollout's state, not
 * bad input: ROLLOUT_STAGE_CONFLICT, same rule, the original as cause.
 */
async function stageStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (thrown) {
    if (
      isTenantGateError(thrown, 'INVALID_INPUT') &&
      thrown.details.field === 'stage'
    ) {
      throw new TenantGateError(
        'ROLLOUT_STAGE_CONFLICT',
        thrown.message,
        { field: 'stage', rule: thrown.details.rule },
        { cause: thrown },
      );
    }
    throw thrown;
  }
}

/**
 * The rollout controller over HTTP: status, advance, pause, resume,
 * rollback, the evidence report and its sign-offs. The same services
 * and reports as `tenantgate rollout ...`. Operator keys only; the key
 * is the actor of every step.
 */
export const rolloutRoutes: ApiRoutes = (server, ctx) => {
  const wiring = rolloutOf(ctx.app);
  server.addHook('onRequest', async (request) => requireOperator(request));

  server.get(
    '/v1/rollout',
    {
      schema: {
        tags,
        summary: 'The stage and the gates of the next step (evaluated now)',
        response: { 200: rolloutStatusSchema, ...problemResponses },
      },
    },
    async () => wiring.controller().status(),
  );

  server.get(
    '/v1/rollout/transitions',
    {
      schema: {
        tags,
        summary: 'Every stage transition, oldest first',
        response: {
          200: { type: 'array', items: transitionSchema },
          ...problemResponses,
        },
      },
    },
    async () => wiring.controller().store.transitions(),
  );

  server.post<{ Body: { approval?: string; reason?: string } }>(
    '/v1/rollout/advance',
    {
      schema: {
        tags,
        summary:
          'Enter the next stage when its gates pass (409 ROLLOUT_BLOCKED with the gates otherwise)',
        body: advanceBody,
        response: { 200: advanceReportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const report = await stageStep(() =>
        wiring.controller().advance({ actor, ...request.body }),
      );
      request.log.info({
        event: 'api.rollout_advance',
        from: report.from,
        to: report.to,
        advanced: report.advanced,
        blockedBy: report.blockedBy,
        actor,
      });
      if (!report.advanced) {
        throw new TenantGateError(
          'ROLLOUT_BLOCKED',
          report.blockedBy === 'approval'
            ? `${report.to} needs a named approval`
            : `${report.to}: ${failed(report.gates)} did not pass`,
          {
            blockedBy: report.blockedBy ?? 'gates',
            gates: report.gates,
            rule: report.blockedBy ?? 'gates',
          },
        );
      }
      return report;
    },
  );

  server.post<{ Body: { reason: string } }>(
    '/v1/rollout/pause',
    {
      schema: {
        tags,
        summary: 'Hold the current stage (flags untouched)',
        body: pauseBody,
        response: { 200: transitionSchema, ...problemResponses },
      },
    },
    async (request) =>
      stageStep(() =>
        wiring
          .controller()
          .pause({ actor: actorOf(request), reason: request.body.reason }),
      ),
  );

  server.post<{ Body: { reason?: string } }>(
    '/v1/rollout/resume',
    {
      schema: {
        tags,
        summary: 'Return to the paused stage; its watch window starts again',
        body: resumeBody,
        response: { 200: transitionSchema, ...problemResponses },
      },
    },
    async (request) =>
      stageStep(() =>
        wiring
          .controller()
          .resume({ actor: actorOf(request), reason: request.body?.reason }),
      ),
  );

  server.post<{ Body: { reason: string } }>(
    '/v1/rollout/rollback',
    {
      schema: {
        tags,
        summary:
          'Enforcement off in the flag store, then the deploy hook; each step timed',
        body: rollbackBody,
        response: { 200: rollbackReportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const report = await stageStep(() =>
        rollbackOf(wiring).rollback({ actor, reason: request.body.reason }),
      );
      request.log.warn({
        event: 'api.rollout_rollback',
        from: report.from,
        environment: report.environment,
        flagOffMs: report.flagOffMs,
        hookOk: report.steps.every((s) => s.ok),
        actor,
      });
      return report;
    },
  );

  server.get<{ Querystring: { format?: 'json' | 'markdown' } }>(
    '/v1/rollout/report',
    {
      schema: {
        tags,
        summary:
          "The spec's checklist filled in by the machine (JSON, or Markdown with format=markdown)",
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: ['json', 'markdown'] },
          },
        },
        response: { 200: evidenceSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const evidence = await buildEvidence(wiring.controller());
      if (request.query.format !== 'markdown') return evidence;
      return reply
        .type('text/markdown; charset=utf-8')
        .serializer((payload) => String(payload))
        .send(evidenceMarkdown(evidence));
    },
  );

  server.post<{ Body: { role: string; name: string } }>(
    '/v1/rollout/sign',
    {
      schema: {
        tags,
        summary:
          'Sign off the current report as one of the three roles (bound to its SHA-256)',
        body: signBody,
        response: { 201: signOffSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const controller = wiring.controller();
      const evidence = await buildEvidence(controller);
      const signOff = await recordSignOff(controller.deps.control, {
        role: request.body.role,
        name: request.body.name,
        at: controller.clock(),
        reportSha256: evidence.contentSha256,
      });
      request.log.info({
        event: 'api.rollout_signed',
        role: signOff.role,
        reportSha256: signOff.reportSha256,
        actor: actorOf(request),
      });
      return reply.code(201).send(signOff);
    },
  );
};

function failed(gates: { gate: string; status: string }[]): string {
  const names = gates.filter((g) => g.status !== 'PASS').map((g) => g.gate);
  return names.length === 0 ? 'a gate' : names.join(', ');
}
