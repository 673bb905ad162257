import { withApp, type Act } from './session.js';
import type { Command } from 'commander';
import { printJson, readInputBytes, readPassword } from './io.js';
import { parseJsonObject } from './options.js';

/**
 * The CIS certificate commands (issue #3), under `accounts`:
 * `create-cis` and `rotate-cis`. The PKCS#12 password comes from a file
 * or standard input, never from an argument.
 */
export function addFiscalCommands(program: Command, act: Act): void {
  const accounts =
    program.commands.find((c) => c.name() === 'accounts') ??
    program.command('accounts');

  accounts
    .command('create-cis')
    .description('create a FISCALIZATION_CIS account from a PKCS#12 file')
    .requiredOption('--company <id>')
    .requiredOption('--env <TEST|PROD>')
    .requiredOption('--p12 <path>', 'the PKCS#12 (.p12/.pfx) file')
    .option('--password-file <path>')
    .option('--password-stdin')
    .option('--config <json>', 'non-secret provider config as JSON')
    .option('--json', 'print JSON')
    .action(
      act(async (o) => {
        const providerConfig = o.config
          ? parseJsonObject(o.config, '--config')
          : {};
        const p12 = readInputBytes(o.p12, '--p12');
        const password = await readPassword(o);
        return withApp(async (app) => {
          const account = await app.accounts.createCertificateAccount({
            companyId: o.company,
            environment: o.env,
            p12,
            password,
            providerConfig,
          });
          if (o.json) printJson(account);
          else console.log(`${account.id} ${account.status}`);
        });
      }),
    );

  accounts
    .command('rotate-cis <id>')
    .description('replace the PKCS#12 file of a FISCALIZATION_CIS account')
    .requiredOption('--company <id>')
    .requiredOption('--p12 <path>')
    .option('--password-file <path>')
    .option('--password-stdin')
    .action(
      act(async (id: string, o) => {
        const p12 = readInputBytes(o.p12, '--p12');
        const password = await readPassword(o);
        return withApp(async (app) => {
          const account = await app.accounts.rotateCertificate(
            o.company,
            id,
            p12,
            password,
          );
          console.log(`rotated ${account.id} ${account.status}`);
        });
      }),
    );
}
