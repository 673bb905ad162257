import { expect, it } from 'vitest';
import { PathsUsed } from '../../src/workers/paths-used.js';
import { startHeartbeat } from '../../src/workers/registry.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  MIGRATING,
  setFlags,
} from '../support/platform.js';
import { expectProblem, useApi } from './api-fixture.js';

describeEachDatabase('HTTP API: registered processes', ({ db }) => {
  const h = useApi(db);

  it('lists a live worker with its V1/V2 paths and last-used path, then stopped; operator keys only', async () => {
    const p = h().platform;
    setFlags(p, MIGRATING);
    const pathsUsed = new PathsUsed();
    pathsUsed.note('FISCALIZATION', 'V1', new Date('2026-03-01T12:00:00Z'));
    const beat = await startHeartbeat({
      db: p.db,
      logger: p.logger,
      role: 'worker',
      environment: 'staging',
      flags: p.flags,
      pathsUsed,
      intervalMs: 60_000,
    });
    try {
      const live = await h().call('GET', '/v1/workers', {
        token: h().operatorToken,
      });
      expect(live.status).toBe(200);
      const mine = live.body.find((w: { id: string }) => w.id === beat.id);
      expect(mine).toMatchObject({
        role: 'worker',
        environment: 'staging',
        pid: process.pid,
        live: true,
        stoppedAt: null,
        paths: { EINVOICE_SEND: 'V2', FISCALIZATION: 'V1' },
        pathsUsed: {
          FISCALIZATION: { path: 'V1', at: '2026-03-01T12:00:00.000Z' },
        },
      });
    } finally {
      await beat.stop();
    }
    const after = await h().call('GET', '/v1/workers', {
      token: h().operatorToken,
    });
    expect(
      after.body.find((w: { id: string }) => w.id === beat.id),
    ).toMatchObject({ live: false, stoppedAt: expect.any(String) });

    const tenant = await companyWithAccount(p);
    const { token } = await h().tenantKey(tenant.company.id);
    expectProblem(
      await h().call('GET', '/v1/workers', { token }),
      403,
      'FORBIDDEN',
    );
  });
});
