import { withApp, type Act } from './session.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalidInput } from '../errors/tenantgate-error.js';
import { printJson } from './io.js';

interface PasswordOptions {
  passwordFile?: string;
  passwordStdin?: boolean;
}

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
      act(async (o) =>
        withApp(async (app) => {
          const account = await app.accounts.createCertificateAccount({
            companyId: o.company,
            environment: o.env,
            p12: readFileSync(o.p12),
            password: await readPassword(o),
            providerConfig: o.config ? parseConfig(o.config) : {},
          });
          if (o.json) printJson(account);
          else console.log(`${account.id} ${account.status}`);
        }),
      ),
    );

  accounts
    .command('rotate-cis <id>')
    .description('replace the PKCS#12 file of a FISCALIZATION_CIS account')
    .requiredOption('--company <id>')
    .requiredOption('--p12 <path>')
    .option('--password-file <path>')
    .option('--password-stdin')
    .action(
      act(async (id: string, o) =>
        withApp(async (app) => {
          const account = await app.accounts.rotateCertificate(
            o.company,
            id,
            readFileSync(o.p12),
            await readPassword(o),
          );
          console.log(`rotated ${account.id} ${account.status}`);
        }),
      ),
    );
}

/** The password without one trailing newline; spaces are kept. */
async function readPassword(options: PasswordOptions): Promise<string> {
  if (options.passwordFile && options.passwordStdin) {
    throw invalidInput(
      'password',
      'one-source',
      'password: use either --password-file or --password-stdin',
    );
  }
  let raw: string;
  if (options.passwordFile) raw = readFileSync(options.passwordFile, 'utf8');
  else if (options.passwordStdin) raw = await readStdin();
  else {
    throw invalidInput(
      'password',
      'required',
      'password: give --password-file PATH or --password-stdin',
    );
  }
  return raw.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function parseConfig(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidInput('config', 'json', 'config: not valid JSON');
  }
}
