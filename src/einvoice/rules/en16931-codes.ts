import type { Rule } from './types.js';
export const codeListRules: Rule[] = [];
