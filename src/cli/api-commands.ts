import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import { ApiKeyService } from '../api/api-keys.js';
import { apiOptionsFrom, startApi } from '../api/server.js';
import type { TenantGate } from '../app.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import { printJson, printTable } from './io.js';
import { integerOption } from './options.js';

function keyService(app: TenantGate): ApiKeyService {
  return new ApiKeyService({ db: app.db, logger: app.logger });
}

/**
 * `tenantgate api-keys create|list|revoke` and `tenantgate api serve`
 * (issue #8). A created token is printed once and never stored in clear.
 */
export function addApiCommands(program: Command, act: Act): void {
  const keys = program
    .command('api-keys')
    .description('HTTP API keys (operator and tenant-scoped)');

  keys
    .command('create')
    .description('create a key and print its token (shown only once)')
    .option('--operator', 'an operator key (acts for any company)')
    .option('--company <id>', 'a tenant key for this company')
    .option('--label <text>', 'what the key is for')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          if (Boolean(o.operator) === Boolean(o.company)) {
            throw invalidInput(
              'kind',
              'one-of',
              'kind: give exactly one of --operator or --company ID',
            );
          }
          const created = await keyService(app).create({
            kind: o.operator ? 'operator' : 'tenant',
            companyId: o.company,
            label: o.label,
          });
          if (o.json) return printJson(created);
          console.log(`id     ${created.key.id}`);
          console.log(`token  ${created.token}`);
          console.log('(the token is shown once; store it now)');
        }),
      ),
    );

  keys
    .command('list')
    .option('--json', 'print JSON')
    .action(
      act(async (o) =>
        withApp(async (app) => {
          const rows = await keyService(app).list();
          if (o.json) return printJson(rows);
          printTable(rows as unknown as Record<string, unknown>[]);
        }),
      ),
    );

  keys
    .command('revoke <id>')
    .description('revoke a key: its token stops working at once')
    .action(
      act(async (id: string) =>
        withApp(async (app) => {
          const key = await keyService(app).revoke(id);
          console.log(`revoked ${key.id}`);
        }),
      ),
    );

  program
    .command('api')
    .description('serve the HTTP API and the dashboard until stopped')
    .option(
      '--port <n>',
      'port (0: any free port; default from settings)',
      integerOption('--port', { min: 0, max: 65535 }),
    )
    .option('--host <host>', 'address to listen on (default from settings)')
    .action(
      act(async (o) =>
        withApp(
          async (app) => {
            const api = await startApi(app, {
              ...apiOptionsFrom(app.settings),
              ...(o.port === undefined ? {} : { port: o.port }),
              ...(o.host === undefined ? {} : { host: o.host }),
            });
            console.log(`TenantGate API at ${api.url} (Ctrl-C to stop)`);
            await new Promise<void>((resolve) => {
              process.once('SIGINT', () => resolve());
              process.once('SIGTERM', () => resolve());
            });
            await api.close();
          },
          { register: 'api' },
        ),
      ),
    );
}
