import type { FlagName, Settings } from '../config/settings.js';

export interface FlagContext {
  environment: 'staging' | 'production';
  companyId?: string;
}

/** Where the gate reads flags. The flag store will implement it too. */
export interface FlagSource {
  isEnabled(flag: FlagName, context: FlagContext): boolean;
}

/**
 * Flags from `FF_*` environment variables, as the deployment set them.
 * Unset means off.
 */
export class EnvFlagSource implements FlagSource {
  constructor(private readonly flags: Settings['flags']) {}

  isEnabled(flag: FlagName, _context: FlagContext): boolean {
    return this.flags[flag] ?? false;
  }
}

/** A fixed set of values, for the demo and for tests of the routing. */
export class StaticFlagSource implements FlagSource {
  constructor(private values: Partial<Record<FlagName, boolean>> = {}) {}

  set(flag: FlagName, value: boolean): void {
    this.values = { ...this.values, [flag]: value };
  }

  isEnabled(flag: FlagName, _context: FlagContext): boolean {
    return this.values[flag] ?? false;
  }
}
