import { afterAll } from 'vitest';
import { installLogTap } from '../../src/logging/log-tap.js';
import { knownSecrets } from './known-secrets.js';
import { leakReport, SecretScan, setActiveScan } from './secret-scan.js';

/**
 * Runs before every test file (vitest `setupFiles`): every log line of
 * every logger the file creates, at every level, and every body that
 * `fetch` receives are collected; after the file's last test, none may
 * contain a known secret (test/support/known-secrets.ts), or the file
 * fails with the secret's label, never its value.
 */
const scan = new SecretScan();
setActiveScan(scan);

installLogTap((line) => scan.add('log', line));

const originalFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await originalFetch(input, init);
  const type = response.headers.get('content-type') ?? '';
  const streamed = type.includes('text/event-stream');
  if (!streamed && response.body !== null) {
    scan.addLater('response', response.clone().text());
  }
  return response;
};

afterAll(async () => {
  globalThis.fetch = originalFetch;
  await scan.settled();
  const leaks = scan.leaks(knownSecrets());
  if (leaks.length > 0) throw new Error(leakReport(leaks));
});
