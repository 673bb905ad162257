import { ERROR_CATALOGUE } from './catalogue.js';

/** The error catalogue as Markdown: `docs/error-codes.md`. */
export function catalogueMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/errors/catalogue.ts` by',
    '`npm run errors:catalogue`; a test fails when this file is stale.',
    '',
    'Every error carries `code`, `severity`, `retryable` and the ids',
    'involved, never a secret. `layer` says where it comes from: rollout',
    'gates count `integration` failures in the error rate and report',
    '`counterpart` outages apart.',
    '',
    '| code | name | severity | retryable | layer | meaning |',
    '|---|---|---|---|---|---|',
  ];
  for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
    lines.push(
      `| \`${code}\` | ${e.name} | ${e.severity} | ${e.retryable ? 'yes' : 'no'} | ${e.layer} | ${e.description} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
