import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagStore } from '../../src/flags/flag-store.js';
import { RolloutController } from '../../src/rollout/controller.js';
import {
  coolifyHook,
  noHook,
  type DeployHook,
} from '../../src/rollout/deploy-hooks.js';
import {
  startCoolifySimulator,
  type CoolifySimulator,
} from '../../src/sandbox/coolify-simulator.js';
import { describeEachDatabase } from '../support/databases.js';
import { companyWithAccount } from '../support/platform.js';
import {
  allFlagsOnFor,
  healthyBoth,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from '../rollout/support.js';
import { apiAppOf, expectProblem, useApi } from './api-fixture.js';

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';
const COOLIFY_TOKEN = 'coolify-api-test-token-0123456789';
const COOLIFY_APP = 'app-staging-api';

describeEachDatabase('HTTP API: rollout', ({ db, backend }) => {
  const clock = { now: NOW };
  let coolify: CoolifySimulator;
  let hook: DeployHook = noHook;
  beforeAll(async () => {
    coolify = await startCoolifySimulator({
      token: COOLIFY_TOKEN,
      appUuids: [COOLIFY_APP],
    });
  });
  afterAll(async () => {
    await coolify?.close();
  });
  let dbs: RolloutDatabases;
  const h = useApi(db, {}, (p) => {
    dbs = { staging: p.db, production: p.db, backend, layout: 'shared' };
    return {
      rollout: {
        controller: () =>
          new RolloutController({
            control: p.db,
            databases: { staging: p.db, production: p.db },
            audits: async () => (await sourcesOf(dbs)).audits,
            logger: p.logger,
            now: () => clock.now,
          }),
        hook: () => hook,
      },
    };
  });

  const op = (method: string, path: string, body?: unknown) =>
    h().call(method, path, { token: h().operatorToken, body });

  async function enforcement(): Promise<boolean | undefined> {
    const rows = await new FlagStore(h().platform.db).list('staging');
    return rows.find((r) => r.flag === ENFORCE && r.companyId === null)
      ?.enabled;
  }

  describe('auth: operator keys only', () => {
    it('refuses no key, a tenant key and a revoked operator key', async () => {
      const tenant = await companyWithAccount(h().platform);
      const tenantKey = await h().tenantKey(tenant.company.id);
      const revoked = await h().keys.create({ kind: 'operator' });
      await h().keys.revoke(revoked.key.id);

      for (const path of ['/v1/rollout', '/v1/rollout/report']) {
        expectProblem(await h().call('GET', path), 401, 'AUTH_REQUIRED');
        expectProblem(
          await h().call('GET', path, { token: tenantKey.token }),
          403,
          'FORBIDDEN',
        );
        expectProblem(
          await h().call('GET', path, { token: revoked.token }),
          401,
          'AUTH_REQUIRED',
        );
      }
      const rollback = await h().call('POST', '/v1/rollout/rollback', {
        token: tenantKey.token,
        body: { reason: 'tenant tries' },
      });
      expectProblem(rollback, 403, 'FORBIDDEN');
    });
  });

  describe('stages through the controller', () => {
    it('shows LEGACY with the readiness gates of the next stage', async () => {
      const status = await op('GET', '/v1/rollout');
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({
        stage: 'LEGACY',
        next: 'STAGING_ENFORCED',
        canAdvance: false,
        approvalNeeded: false,
        rollbackVerification: null,
      });
      expect(status.body.gates.length).toBeGreaterThan(0);
      for (const gate of status.body.gates) {
        expect(gate).toEqual({
          gate: expect.any(String),
          status: expect.stringMatching(/^(PASS|FAIL|INCONCLUSIVE)$/),
          numbers: expect.any(Object),
        });
      }
    });

    it('refuses to advance while a gate fails: 409 ROLLOUT_BLOCKED with the gates', async () => {
      const answer = await op('POST', '/v1/rollout/advance', {});
      expectProblem(answer, 409, 'ROLLOUT_BLOCKED');
      expect(answer.body.blockedBy).toBe('gates');
      const failing = answer.body.gates.filter(
        (g: { status: string }) => g.status !== 'PASS',
      );
      expect(failing.length).toBeGreaterThan(0);
      expect(answer.body.detail).toContain(failing[0].gate);
      expect((await op('GET', '/v1/rollout')).body.stage).toBe('LEGACY');
    });

    it('advances to STAGING_ENFORCED once ready, the key recorded as actor', async () => {
      await allFlagsOnFor(dbs, 8);
      await healthyBoth(dbs);

      const answer = await op('POST', '/v1/rollout/advance', {
        reason: 'stage 1 go',
      });

      expect(answer.status).toBe(200);
      const actor = `operator-key:${h().operatorKeyId}`;
      expect(answer.body).toMatchObject({
        from: 'LEGACY',
        to: 'STAGING_ENFORCED',
        advanced: true,
        blockedBy: null,
        transition: { action: 'advance', actor, reason: 'stage 1 go' },
      });
      expect(answer.body.flagChanges[0]).toMatchObject({
        flag: ENFORCE,
        environment: 'staging',
        actor,
        newValue: { enabled: true },
      });
      expect(await enforcement()).toBe(true);
    });

    it('holds the next stage until its watch window has elapsed', async () => {
      const answer = await op('POST', '/v1/rollout/advance');
      expectProblem(answer, 409, 'ROLLOUT_BLOCKED');
      const watch = answer.body.gates.find((g: { gate: string }) =>
        g.gate.includes('watch_window'),
      );
      expect(watch?.status).toBe('INCONCLUSIVE');
    });

    it('answers a step the stage does not allow with ROLLOUT_STAGE_CONFLICT', async () => {
      const resume = await op('POST', '/v1/rollout/resume', {});
      expectProblem(resume, 409, 'ROLLOUT_STAGE_CONFLICT');
      expect(resume.body).toMatchObject({ field: 'stage', rule: 'paused' });

      const noReason = await op('POST', '/v1/rollout/pause', {});
      expectProblem(noReason, 400, 'INVALID_INPUT');
      expect(noReason.body.field).toBe('reason');
    });

    it('pauses and resumes, flags untouched', async () => {
      const paused = await op('POST', '/v1/rollout/pause', {
        reason: 'CIS maintenance',
      });
      expect(paused.body).toMatchObject({
        fromStage: 'STAGING_ENFORCED',
        toStage: 'PAUSED',
        action: 'pause',
      });
      const advance = await op('POST', '/v1/rollout/advance', {});
      expectProblem(advance, 409, 'ROLLOUT_STAGE_CONFLICT');

      const resumed = await op('POST', '/v1/rollout/resume', {});
      expect(resumed.body.toStage).toBe('STAGING_ENFORCED');
      expect(await enforcement()).toBe(true);
    });

    it('rolls back: enforcement off in the store, then the Coolify hook, each step timed', async () => {
      hook = coolifyHook({
        url: coolify.url,
        token: COOLIFY_TOKEN,
        appUuids: { staging: COOLIFY_APP },
        pollMs: 10,
      });

      const answer = await op('POST', '/v1/rollout/rollback', {
        reason: 'drill from the API',
      });

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        from: 'STAGING_ENFORCED',
        environment: 'staging',
        trigger: 'manual',
        transition: {
          toStage: 'ROLLED_BACK',
          actor: `operator-key:${h().operatorKeyId}`,
        },
      });
      const steps = answer.body.steps as { step: string; ok: boolean }[];
      expect(steps[0]).toMatchObject({
        step: 'flag_store.enforcement_off',
        ok: true,
      });
      expect(steps.length).toBeGreaterThan(1);
      expect(steps.every((s) => s.ok)).toBe(true);
      expect(answer.text).not.toContain(COOLIFY_TOKEN);
      expect(await enforcement()).toBe(false);
      const status = (await op('GET', '/v1/rollout')).body;
      expect(status.stage).toBe('ROLLED_BACK');
      // No operations since the rollback: too few to verify it.
      expect(status.rollbackVerification).toMatchObject({
        id: 'rollback.verified',
        environment: 'staging',
        status: 'INCONCLUSIVE',
        numbers: { sampleSize: 0, integrationRequired: 0 },
        samples: [],
      });

      const transitions = await op('GET', '/v1/rollout/transitions');
      expect(transitions.body.map((t: { action: string }) => t.action)).toEqual(
        ['advance', 'pause', 'resume', 'rollback'],
      );
    });
  });

  describe('evidence and sign-off', () => {
    it('serves the report as JSON and as the Markdown checklist', async () => {
      const json = await op('GET', '/v1/rollout/report');
      expect(json.status).toBe(200);
      expect(json.body.state.stage).toBe('ROLLED_BACK');
      expect(json.body.contentSha256).toMatch(/^[0-9a-f]{64}$/);
      const rollback = json.body.sections.find(
        (s: { heading: string }) => s.heading === 'Rollback Plan',
      );
      expect(rollback.lines[0].text).toContain('STAGING_ENFORCED');
      expect(rollback.lines[1]).toMatchObject({
        text: 'Verify rollback: V1 in use again, operations resume',
        ticked: false,
        status: 'INCONCLUSIVE',
      });

      const md = await op('GET', '/v1/rollout/report?format=markdown');
      expect(md.status).toBe(200);
      expect(md.headers.get('content-type')).toContain('text/markdown');
      expect(md.text).toContain('# Phase 5: Enforcement Rollout Checklist');
      expect(md.text).toContain(json.body.contentSha256);
    });

    it('records a sign-off bound to the current report, shown as valid', async () => {
      const report = (await op('GET', '/v1/rollout/report')).body;
      const signed = await op('POST', '/v1/rollout/sign', {
        role: 'DevOps',
        name: 'Ana Horvat',
      });
      expect(signed.status).toBe(201);
      expect(signed.body).toMatchObject({
        role: 'DevOps',
        name: 'Ana Horvat',
        reportSha256: report.contentSha256,
        signature: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const after = (await op('GET', '/v1/rollout/report')).body;
      expect(
        after.signOffs.find((s: { role: string }) => s.role === 'DevOps'),
      ).toMatchObject({ name: 'Ana Horvat', valid: true });

      const badRole = await op('POST', '/v1/rollout/sign', {
        role: 'Intern',
        name: 'X',
      });
      expectProblem(badRole, 400, 'INVALID_INPUT');
      expect(badRole.body.field).toBe('role');
    });

    it('publishes the rollout routes in the OpenAPI document', async () => {
      const doc = (await h().call('GET', '/openapi.json')).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/rollout',
          '/v1/rollout/advance',
          '/v1/rollout/rollback',
          '/v1/rollout/report',
          '/v1/rollout/sign',
        ]),
      );
      const advance = doc.paths['/v1/rollout/advance'].post;
      expect(
        advance.responses['4XX'].content['application/problem+json'].schema
          .properties.gates,
      ).toBeDefined();
    });
  });
});

describeEachDatabase('HTTP API: rollout on the platform wiring', ({ db }) => {
  const h = useApi(db);

  it('reads the platform controller when the app brings none', async () => {
    const status = await h().call('GET', '/v1/rollout', {
      token: h().operatorToken,
    });
    expect(status.status).toBe(200);
    expect(status.body.stage).toBe('LEGACY');
    const rollback = await h().call('POST', '/v1/rollout/rollback', {
      token: h().operatorToken,
      body: { reason: 'nothing to roll back' },
    });
    expectProblem(rollback, 409, 'ROLLOUT_STAGE_CONFLICT');
    expect(rollback.body.rule).toBe('rollback-able');
  });
});

describeEachDatabase(
  'HTTP API: rollout with a database per environment',
  ({ db }) => {
    const h = useApi(db, {}, (p) => ({
      settings: {
        ...apiAppOf(p).settings,
        environmentDatabases: {
          staging: 'postgres://postgres@127.0.0.1:5432/staging_elsewhere',
          production: undefined,
        },
      },
    }));

    it('refuses rather than act on the wrong database', async () => {
      for (const [method, path, body] of [
        ['GET', '/v1/rollout', undefined],
        ['POST', '/v1/rollout/advance', {}],
        ['POST', '/v1/rollout/rollback', { reason: 'breach' }],
      ] as const) {
        const answer = await h().call(method, path, {
          token: h().operatorToken,
          body,
        });
        expectProblem(answer, 503, 'SERVICE_UNAVAILABLE');
        expect(answer.body.rule).toBe('one-database');
        expect(answer.text).not.toContain('staging_elsewhere');
      }
      const flags = await new FlagStore(h().platform.db).list();
      expect(flags).toEqual([]);
    });
  },
);
