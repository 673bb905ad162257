import { writeFileSync } from 'node:fs';
import { catalogueMarkdown } from '../src/errors/catalogue-markdown.js';

writeFileSync('docs/error-codes.md', catalogueMarkdown());
console.log('wrote docs/error-codes.md');
