import { describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/server.js';
import { createLogger } from '../../src/logging/logger.js';
import { openTestPglite } from '../support/databases.js';
import { call } from './api-fixture.js';

describe('health endpoints when the database is gone', () => {
  it('keeps /healthz at 200 and answers /readyz with 503 problem+json', async () => {
    const db = await openTestPglite();
    await db.close();
    const api = await startApi(
      {
        db,
        vault: undefined as never,
        logger: createLogger('silent'),
        outbound: undefined as never,
        settings: {
          accountEnvironment: 'TEST',
          deploymentEnvironment: 'staging',
        },
      },
      { port: 0 },
    );
    try {
      expect((await call(api.url, 'GET', '/healthz')).status).toBe(200);
      const ready = await call(api.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toContain(
        'application/problem+json',
      );
      expect(ready.body).toMatchObject({
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        rule: 'database',
        checks: { database: 'failed' },
      });
      expect(ready.body.detail).not.toMatch(/closed|pglite/i);
    } finally {
      await api.close();
    }
  });
});

describe('readiness checks of the process', () => {
  it('answers 503 naming a failed check, 200 once it answers again', async () => {
    const db = await openTestPglite();
    let queueUp = false;
    const api = await startApi(
      {
        db,
        vault: undefined as never,
        logger: createLogger('silent'),
        outbound: undefined as never,
        settings: {
          accountEnvironment: 'TEST',
          deploymentEnvironment: 'staging',
        },
      },
      {
        port: 0,
        readiness: {
          queue: async () => {
            if (!queueUp) throw new Error('queue down');
          },
        },
      },
    );
    try {
      const down = await call(api.url, 'GET', '/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        rule: 'queue',
        checks: { database: 'ok', queue: 'failed' },
      });
      expect(down.text).not.toContain('queue down');

      queueUp = true;
      const up = await call(api.url, 'GET', '/readyz');
      expect(up.body).toEqual({
        status: 'ready',
        checks: { database: 'ok', queue: 'ok' },
      });
    } finally {
      await api.close();
      await db.close();
    }
  });
});
