import childProcess, { ChildProcess } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import type { Readable } from 'node:stream';
import { afterAll } from 'vitest';
import { installLogTap } from '../../src/logging/log-tap.js';
import { knownSecrets } from './known-secrets.js';
import { leakReport, SecretScan, setActiveScan } from './secret-scan.js';

/**
 * Runs before every test file (vitest `setupFiles`): every log line of
 * every logger the file creates, at every level, every body that
 * `fetch` receives and all that child processes print are collected;
 * after the file's last test, none may contain a known secret
 * (test/support/known-secrets.ts), or the file fails with the secret's
 * label, never its value.
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

// What child processes (CLI commands run by tests) print, whole per
// stream so that a secret split across chunks is still found.
const collect = (stream: Readable | null) => {
  if (!stream) return;
  const chunks: string[] = [];
  stream.on('data', (c: Buffer | string) => chunks.push(String(c)));
  stream.on('end', () => scan.add('output', chunks.join('')));
};
// `spawn` is undocumented on ChildProcess; every async child goes
// through it (spawn, exec, execFile).
type Spawnable = { spawn(this: ChildProcess, ...args: unknown[]): unknown };
const proto = ChildProcess.prototype as unknown as Spawnable;
const originalSpawn = proto.spawn;
proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
  const result = originalSpawn.apply(this, args);
  collect(this.stdout);
  collect(this.stderr);
  return result;
};
const originalSpawnSync = childProcess.spawnSync;
childProcess.spawnSync = ((...args: Parameters<typeof originalSpawnSync>) => {
  const result = originalSpawnSync(...args);
  scan.add('output', `${result.stdout ?? ''}${result.stderr ?? ''}`);
  return result;
}) as typeof originalSpawnSync;
syncBuiltinESMExports();

afterAll(async () => {
  globalThis.fetch = originalFetch;
  await scan.settled();
  const leaks = scan.leaks(knownSecrets());
  if (leaks.length > 0) throw new Error(leakReport(leaks));
});
