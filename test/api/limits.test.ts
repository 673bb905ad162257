import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/databases.js';
import { companyWithNothing } from '../support/platform.js';
import { useApi } from './api-fixture.js';

describeEachDatabase('HTTP API limits', ({ db }) => {
  const h = useApi(db, { rateLimitMax: 3, bodyLimit: 2_048 });

  describe('rate limit per key', () => {
    it('answers the request over the limit with 429 problem+json and Retry-After, without slowing other keys', async () => {
      const tenant = await companyWithNothing(h().platform);
      const busy = await h().tenantKey(tenant.company.id);
      const other = await h().tenantKey(tenant.company.id);

      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push(await h().call('GET', '/v1/accounts', busy));
      }
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      const limited = answers[3];
      expect(limited?.headers.get('content-type')).toContain(
        'application/problem+json',
      );
      expect(limited?.body).toMatchObject({
        status: 429,
        code: 'RATE_LIMITED',
        retryable: true,
      });
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);

      const fresh = await h().call('GET', '/v1/accounts', other);
      expect(fresh.status).toBe(200);
    });

    it('never rate-limits the health endpoints', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await h().call('GET', '/healthz')).status).toBe(200);
      }
    });
  });

  describe('body size', () => {
    it('refuses a body over the limit with 413 naming the rule', async () => {
      const tenant = await companyWithNothing(h().platform);
      const { token } = await h().tenantKey(tenant.company.id);
      const answer = await h().call('POST', '/v1/einvoices', {
        token,
        body: { ublXml: 'x'.repeat(4_096) },
      });
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({
        code: 'INVALID_INPUT',
        field: 'body',
        rule: 'max-size',
      });
    });
  });
});
