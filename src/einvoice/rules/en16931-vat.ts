import type { Rule } from './types.js';
export const vatRules: Rule[] = [];
