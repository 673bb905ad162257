import type { Rule } from './types.js';
export const hrRules: Rule[] = [];
