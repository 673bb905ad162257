import type { Rule } from './types.js';
export const syntaxRules: Rule[] = [];
