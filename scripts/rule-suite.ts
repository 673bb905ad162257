/**
 * Runs the EN 16931 unit test suite (fixtures/en16931-unit-invoice)
 * against our rule engine and prints the agreement per rule and overall.
 * Usage: npm run rules:suite [-- --verbose]
 */
import { fileURLToPath } from 'node:url';
import { runUnitSuite } from '../src/einvoice/rules/unit-suite.js';

const dir = fileURLToPath(
  new URL('../fixtures/en16931-unit-invoice/', import.meta.url),
);
const verbose = process.argv.includes('--verbose');
const report = await runUnitSuite(dir);

for (const r of report.rules) {
  const verdict = r.implemented
    ? `${r.agreed}/${r.cases}`
    : `not implemented (${r.cases} cases)`;
  console.log(`${r.rule.padEnd(12)} ${verdict}`);
  if (verbose) for (const d of r.disagreements) console.log(`    ${d}`);
}
const { overall, notImplemented } = report;
console.log(
  `overall: ${overall.agreed}/${overall.cases} cases agree ` +
    `(${(overall.ratio * 100).toFixed(1)}%) over implemented rules; ` +
    `${notImplemented.rules} rules (${notImplemented.cases} cases) ` +
    'not implemented',
);
