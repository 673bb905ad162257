import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { runAudit, runInvariants } from '../../src/audit/audit.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPrometheusRegistry } from '../../src/metrics/prometheus.js';
import {
  latestCheckRuns,
  runDailyChecks,
  webhookAlert,
  type CheckRun,
} from '../../src/workers/scheduled-checks.js';
import {
  insertEInvoice,
  insertReadyCompany,
  resetAuditTables,
  testSecretProbe,
} from '../support/audit-builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { owner, type Database } from '../../src/db/database.js';

const quiet = createLogger(
  'info',
  new Writable({ write: (_c, _e, done) => done() }),
);

function daily(db: Database, onRegression?: (run: CheckRun) => Promise<void>) {
  const options = { accountEnvironment: 'TEST' as const };
  return runDailyChecks({
    db,
    logger: quiet,
    invariants: () => runInvariants(db, options),
    audit: () => runAudit(db, { ...options, secretProbe: testSecretProbe }),
    onRegression,
  });
}

describeEachDatabase('Item 10: the daily checks', ({ db }) => {
  let hook: Server;
  let hookUrl = '';
  const posted: { text: string }[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += String(c)));
      req.on('end', () => {
        posted.push(JSON.parse(body) as { text: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => hook.close(() => r())));
  beforeEach(async () => {
    posted.length = 0;
    await resetAuditTables(db());
    await db().transaction(owner, (tx) =>
      tx.query('TRUNCATE "ScheduledCheckRun"'),
    );
  });

  it('stores each run with its report; a clean platform raises nothing', async () => {
    await insertReadyCompany(db());

    const runs = await daily(db(), webhookAlert(hookUrl, quiet));

    expect(runs.map((r) => [r.check, r.ready, r.regressed])).toEqual([
      ['invariants', true, []],
      ['audit', true, []],
    ]);
    expect(runs[0]?.report.checks.length).toBeGreaterThan(0);
    expect(posted).toEqual([]);
    const latest = await latestCheckRuns(db());
    expect(latest.map((r) => r.id).sort()).toEqual(
      runs.map((r) => r.id).sort(),
    );
  });

  it('alerts once when a check regresses, with the offending row', async () => {
    const { companyId } = await insertReadyCompany(db());
    await daily(db(), webhookAlert(hookUrl, quiet));
    const bad = await insertEInvoice(db(), { companyId });

    const second = await daily(db(), webhookAlert(hookUrl, quiet));
    const third = await daily(db(), webhookAlert(hookUrl, quiet));

    expect(second[0]?.ready).toBe(false);
    expect(second[0]?.regressed).toEqual(['einvoice.issued_without_account']);
    expect(third[0]?.failing).toEqual(['einvoice.issued_without_account']);
    expect(third[0]?.regressed).toEqual([]);
    // Invariants and audit each regressed once, in the second run only.
    expect(posted).toHaveLength(2);
    expect(posted[0]?.text).toContain('[P1]');
    expect(posted[0]?.text).toContain('einvoice.issued_without_account');
    expect(posted[0]?.text).toContain(bad.id);
  });

  it('exposes the latest run as Prometheus gauges', async () => {
    const { companyId } = await insertReadyCompany(db());
    await insertEInvoice(db(), { companyId });
    await daily(db());

    const text = await createPrometheusRegistry({ db: db() }).metrics();

    expect(text).toContain(
      'tenantgate_scheduled_check_ready{check="invariants"} 0',
    );
    expect(text).toMatch(
      /tenantgate_scheduled_check_failing\{check="audit"\} [1-9]/,
    );
    expect(text).toContain(
      'tenantgate_scheduled_check_last_run_timestamp_seconds{check="audit"}',
    );
  });
});
