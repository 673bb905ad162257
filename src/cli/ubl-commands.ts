import { type Act } from './session.js';
import type { Command } from 'commander';
import { checkRulesXml } from '../einvoice/rules/engine.js';
import type { Finding } from '../einvoice/rules/types.js';
import { validateInvoice } from '../einvoice/rules/validate.js';
import { buildUbl } from '../einvoice/ubl/builder.js';
import { parseInvoiceModel } from '../einvoice/ubl/model-schema.js';
import {
  checkOutputFile,
  printJson,
  printTable,
  readInputFile,
  writeOutputFile,
} from './io.js';
import { parseJsonFile } from './options.js';

function printFindings(findings: Finding[], json: boolean): void {
  if (json) return printJson(findings);
  if (findings.length === 0) return console.log('no findings');
  printTable(findingRows(findings));
}

function findingRows(findings: Finding[]): Record<string, unknown>[] {
  return findings.map((f) => ({
    rule: f.rule,
    severity: f.severity,
    field: f.field,
    path: f.path,
    message: f.message,
  }));
}

/**
 * `ubl validate FILE` (schema then EN 16931 and HR CIUS rules; exit 1
 * when invalid) and `ubl build --model FILE.json` (UBL from the JSON
 * invoice model, then validated the same way).
 */
export function addUblCommands(program: Command, act: Act): void {
  const ubl = program
    .command('ubl')
    .description('build and validate UBL e-invoices (HR CIUS 2025)');

  ubl
    .command('validate <file>')
    .description('schema and business rules; exit 1 on any error finding')
    .option('--rules-only', 'skip the schema check (faster)')
    .option('--json', 'print the findings as JSON')
    .action(
      act(
        async (file: string, opts: { rulesOnly?: boolean; json?: boolean }) => {
          const xml = readInputFile(file, 'file');
          const findings = opts.rulesOnly
            ? checkRulesXml(xml)
            : (await validateInvoice(xml)).findings;
          printFindings(findings, opts.json === true);
          return findings.some((f) => f.severity === 'error') ? 1 : 0;
        },
      ),
    );

  ubl
    .command('build')
    .description('build UBL from a JSON invoice model and validate it')
    .requiredOption('--model <file>', 'the invoice model (JSON)')
    .option('--out <file>', 'write the UBL here (default: standard output)')
    .option('--force', 'write the UBL to --out even when it fails validation')
    .action(
      act(async (opts: { model: string; out?: string; force?: boolean }) => {
        if (opts.out) checkOutputFile(opts.out, '--out');
        const text = readInputFile(opts.model, '--model');
        const model = parseInvoiceModel(parseJsonFile(text, '--model'));
        const { xml } = buildUbl(model);
        const result = await validateInvoice(xml);
        // Findings go to standard error: standard output may be the
        // UBL itself (`ubl build --model m.json > invoice.xml`).
        if (!result.valid) printTable(findingRows(result.findings), 'stderr');
        if (!opts.out) console.log(xml);
        else if (result.valid || opts.force) {
          writeOutputFile(opts.out, xml, '--out');
        } else {
          console.error(
            `${opts.out} not written: the invoice fails validation ` +
              '(--force writes it anyway)',
          );
        }
        return result.valid ? 0 : 1;
      }),
    );
}
