import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { LedgerNotifier } from '../../src/metrics/notifier.js';
import { describeEachDatabase } from '../support/databases.js';
import { insertEvents } from './ledger-builders.js';

const quiet = createLogger(
  'silent',
  new Writable({ write: (_c, _e, done) => done() }),
);

interface Posted {
  text: string;
  count: number;
  eventIds: string[];
  companyIds: string[];
  blocks: { text: { text: string } }[];
}

let server: Server;
let url = '';
let received: Posted[] = [];
let failNext = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(500).end();
        return;
      }
      received.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const now = () => new Date().toISOString();

describeEachDatabase('webhook notifier', ({ db }) => {
  it('posts P0/P1 events once per kind, with the ids, and skips P2', async () => {
    received = [];
    await insertEvents(db(), [
      { at: now(), errorName: 'TenantViolationError' },
    ]);
    const notifier = new LedgerNotifier({
      db: db(),
      logger: quiet,
      webhookUrl: url,
    });
    await notifier.start();
    await notifier.stop();
    await insertEvents(db(), [
      { at: now(), errorName: 'TenantViolationError', companyId: 'co_a' },
      { at: now(), errorName: 'TenantViolationError', companyId: 'co_b' },
      { at: now(), errorName: 'IntegrationRequiredError', companyId: 'co_c' },
      { at: now(), errorName: 'EInvoiceConflictError', companyId: 'co_d' },
    ]);
    const report = await notifier.tick();
    expect(report).toEqual({ posted: 2, suppressed: 0 });
    const violation = received.find((m) => m.text.includes('Tenant'));
    expect(violation?.text).toMatch(/^\[P0\] TenantViolationError × 2/);
    expect(violation?.companyIds).toEqual(['co_a', 'co_b']);
    expect(violation?.eventIds).toHaveLength(2);
    expect(violation?.blocks[0]?.text.text).toContain('company co_a');
    expect(received.some((m) => m.text.includes('EInvoiceConflict'))).toBe(
      false,
    );
  });

  it('de-duplicates within the window and reports the count after it', async () => {
    received = [];
    const notifier = new LedgerNotifier({
      db: db(),
      logger: quiet,
      webhookUrl: url,
      dedupeMs: 60_000,
    });
    await notifier.start();
    await notifier.stop();
    const t0 = Date.now();
    await insertEvents(db(), [
      { at: now(), errorName: 'VaultKeyMissingError' },
    ]);
    expect(await notifier.tick(t0)).toEqual({ posted: 1, suppressed: 0 });
    await insertEvents(db(), [
      { at: now(), errorName: 'VaultKeyMissingError' },
      { at: now(), errorName: 'VaultKeyMissingError' },
    ]);
    expect(await notifier.tick(t0 + 1000)).toEqual({
      posted: 0,
      suppressed: 2,
    });
    await insertEvents(db(), [
      { at: now(), errorName: 'VaultKeyMissingError' },
    ]);
    expect(await notifier.tick(t0 + 61_000)).toEqual({
      posted: 1,
      suppressed: 0,
    });
    expect(received).toHaveLength(2);
    expect(received[1]?.count).toBe(3);
  });

  it('retries a message the webhook refused', async () => {
    received = [];
    const notifier = new LedgerNotifier({
      db: db(),
      logger: quiet,
      webhookUrl: url,
    });
    await notifier.start();
    await notifier.stop();
    await insertEvents(db(), [
      { at: now(), errorName: 'CounterpartAuthError' },
    ]);
    failNext = 1;
    expect(await notifier.tick()).toEqual({ posted: 0, suppressed: 0 });
    expect(await notifier.tick()).toEqual({ posted: 1, suppressed: 0 });
    expect(received).toHaveLength(1);
  });
});
