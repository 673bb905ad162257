import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import { toTenantGateError } from '../errors/tenantgate-error.js';
import { buildProgram } from './commands.js';

/**
 * The CLI entry: the one place that turns errors into messages and exit
 * codes (2 for bad input, 1 otherwise).
 */
async function main(argv: string[]): Promise<void> {
  const program = buildProgram((code) => {
    process.exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (thrown) {
    const error = toTenantGateError(thrown);
    const d = error.details;
    const where = d.field ? ` [field ${d.field}, rule ${d.rule}]` : '';
    console.error(`error ${error.code}: ${error.message}${where}`);
    if (error.code === 'INTERNAL' && thrown instanceof Error) {
      console.error(thrown.stack);
    }
    process.exitCode = ERROR_CATALOGUE[error.code].layer === 'input' ? 2 : 1;
  }
}

await main(process.argv);
