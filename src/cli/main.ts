import { CommanderError, type Command } from 'commander';
import { exitCodeOf } from '../errors/catalogue.js';
import { toTenantGateError } from '../errors/tenantgate-error.js';
import { buildProgram } from './commands.js';
import { messageForOperator } from './option-names.js';
import { refuseSecretArguments } from './options.js';

/**
 * The CLI entry: the one place that turns errors into messages and exit
 * codes (2 for bad input, usage and configuration errors, 1
 * otherwise). Usage errors (unknown option, missing argument) are
 * commander's own message.
 */
async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe();
  const program = buildProgram((code) => {
    process.exitCode = code;
  });
  // The command that ran: its options name the fields of its errors.
  let ran: Command | undefined;
  program.hook('preAction', (_, command) => {
    ran = command;
  });
  try {
    refuseSecretArguments(argv.slice(2));
    await program.parseAsync(argv);
  } catch (thrown) {
    process.exitCode = report(thrown, ran);
  }
}

/**
 * `tenantgate … | head`: once the reader has gone, stop quietly with
 * the exit code so far instead of an unhandled EPIPE and its stack.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
}

/**
 * Prints what went wrong, naming the option of `command` the operator
 * typed (`--env`) where the error names a field (`environment`);
 * returns the exit code.
 */
function report(thrown: unknown, command?: Command): number {
  // Commander has printed its message already (help: exit 0).
  if (thrown instanceof CommanderError) return thrown.exitCode === 0 ? 0 : 2;
  const error = toTenantGateError(thrown);
  const d = error.details;
  const rule = d.rule === undefined ? '' : `, rule ${String(d.rule)}`;
  const where = d.field ? ` [field ${String(d.field)}${rule}]` : '';
  const message = messageForOperator(error, command);
  console.error(`error ${error.code}: ${message}${where}`);
  if (error.code === 'INTERNAL' && thrown instanceof Error) {
    console.error(thrown.stack);
  }
  return exitCodeOf(error.code);
}

await main(process.argv);
