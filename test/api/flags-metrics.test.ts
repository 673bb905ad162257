import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithNothing,
  invoiceFor,
  MIGRATING,
  setFlags,
} from '../support/platform.js';
import { useApi } from './api-fixture.js';

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

describeEachDatabase('HTTP API flags and metrics', ({ db }) => {
  const h = useApi(db);

  describe('flags (operator)', () => {
    it('sets a flag with a reason, records the key as the actor, and lists it', async () => {
      const token = h().operatorToken;
      const on = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token,
        body: { enabled: true, reason: 'stage 3 entry', overrideRollout: true },
      });
      expect(on.status).toBe(200);
      expect(on.body).toMatchObject({
        flag: ENFORCE,
        environment: 'staging',
        actor: `operator-key:${h().operatorKeyId}`,
        reason: 'rollout overridden at LEGACY: stage 3 entry',
        newValue: { enabled: true },
      });
      const off = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token,
        body: { enabled: false, reason: 'rollback: error rate' },
      });
      expect(off.body.oldValue).toMatchObject({ enabled: true });

      const rows = await h().call('GET', '/v1/flags', { token });
      expect(rows.body).toContainEqual(
        expect.objectContaining({ flag: ENFORCE, enabled: false }),
      );
      const history = await h().call(
        'GET',
        `/v1/flags/history?flag=${ENFORCE}`,
        { token },
      );
      expect(history.body.map((c: { reason: string }) => c.reason)).toEqual([
        'rollback: error rate',
        'rollout overridden at LEGACY: stage 3 entry',
      ]);
    });

    it('refuses enforcement on outside the rollout with 409, naming the stage and the command; off passes', async () => {
      const token = h().operatorToken;
      const refused = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token,
        body: {
          enabled: true,
          reason: 'skip the gates',
          environment: 'production',
        },
      });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain(
        'application/problem+json',
      );
      expect(refused.body).toMatchObject({
        code: 'ENFORCEMENT_OWNED_BY_ROLLOUT',
        field: 'enabled',
        rule: 'rollout-owns-enforcement',
      });
      expect(refused.body.detail).toContain(`${ENFORCE}: on in production`);
      expect(refused.body.detail).toContain('LEGACY');
      expect(refused.body.detail).toContain('tenantgate rollout advance');
      const off = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token,
        body: { enabled: false, reason: 'safe', environment: 'production' },
      });
      expect(off.status).toBe(200);
    });

    it('refuses a change without a reason, naming the field', async () => {
      const answer = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token: h().operatorToken,
        body: { enabled: true },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        code: 'INVALID_INPUT',
        field: 'reason',
        rule: 'required',
      });
    });

    it('refuses an unknown flag name', async () => {
      const answer = await h().call('PUT', '/v1/flags/FF_NOPE', {
        token: h().operatorToken,
        body: { enabled: true, reason: 'x' },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ field: 'flag', rule: 'enum' });
    });

    it('keeps tenant keys away from flags (403)', async () => {
      const tenant = await companyWithNothing(h().platform);
      const { token } = await h().tenantKey(tenant.company.id);
      const answer = await h().call('PUT', `/v1/flags/${ENFORCE}`, {
        token,
        body: { enabled: false, reason: 'tenant wants out' },
      });
      expect(answer.status).toBe(403);
      expect(answer.body.code).toBe('FORBIDDEN');
    });
  });

  describe('metrics (operator)', () => {
    it('reports the ledger metrics of the window, with sample sizes', async () => {
      setFlags(h().platform, MIGRATING);
      const tenant = await companyWithAccount(h().platform);
      const { token } = await h().tenantKey(tenant.company.id);
      await h().call('POST', '/v1/einvoices', {
        token,
        body: { ublXml: invoiceFor(tenant) },
      });
      const answer = await h().call('GET', '/v1/metrics?hours=24', {
        token: h().operatorToken,
      });
      expect(answer.status).toBe(200);
      expect(answer.body.sampleSize).toBeGreaterThanOrEqual(1);
      expect(answer.body).toHaveProperty('errorsByName');
      expect(answer.body).toHaveProperty('pathByHour');
    });
  });
});
