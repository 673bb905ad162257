/**
 * A second process for the propagation test: opens the database named
 * by argv[2], starts a store-backed flag source for staging and prints
 * `ready`, then `on <epoch ms>` once argv[3] reads as enabled.
 */
import { Writable } from 'node:stream';
import { PostgresDatabase } from '../../../src/db/postgres.js';
import type { FlagName } from '../../../src/config/settings.js';
import { StoreFlagSource } from '../../../src/flags/store-flag-source.js';
import { createLogger } from '../../../src/logging/logger.js';

const [url, flag] = process.argv.slice(2) as [string, FlagName];
const db = new PostgresDatabase(url, { max: 2 });
const source = await StoreFlagSource.start({
  db,
  logger: createLogger('silent', new Writable({ write: (_c, _e, d) => d() })),
  environment: 'staging',
  envFlags: {
    FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
    FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
    FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
    FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
  },
  record: false,
});
process.stdout.write('ready\n');
const started = Date.now();
while (!source.isEnabled(flag, { environment: 'staging' })) {
  if (Date.now() - started > 30_000) break;
  await new Promise((r) => setTimeout(r, 2));
}
process.stdout.write(`on ${Date.now()}\n`);
await source.stop();
await db.close();
