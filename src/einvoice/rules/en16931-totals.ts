import type { Rule } from './types.js';
export const totalsRules: Rule[] = [];
