import { invalidInput } from '../errors/tenantgate-error.js';

/**
 * What `tenantgate worker` can run, each switched on or off as a whole:
 *
 * - `fiscal`: the fiscal queue and its requeue sweep (needs
 *   TENANTGATE_CIS_URL);
 * - `inbound`: polling every inbox (the fan-out and the poll queue);
 * - `reporting`: Fiskalizacija 2.0 reports (the report queue and its
 *   sweep; needs TENANTGATE_F2_URL);
 * - `reconcile`: sends of unknown outcome resolved from the listings;
 * - `status`: SENT → DELIVERED / ACCEPTED / REJECTED from status APIs;
 * - `checks`: the daily invariants and audit;
 * - `ledger`: hourly rollups and retention;
 * - `probe`: the rollout probe (needs the probe companies);
 * - `rollout-watch`: the rollback criteria of an enforcing stage,
 *   checked every TENANTGATE_ROLLOUT_WATCH_MS; a breach rolls back
 *   (as `tenantgate rollout watch` does, with the same deploy hook).
 */
export const WORKER_CAPABILITIES = [
  'fiscal',
  'inbound',
  'reporting',
  'reconcile',
  'status',
  'checks',
  'ledger',
  'probe',
  'rollout-watch',
] as const;
export type WorkerCapability = (typeof WORKER_CAPABILITIES)[number];

/** Which capabilities a worker runs. */
export interface CapabilitySelection {
  /**
   * Only these. Each must be able to run: one that is not configured
   * refuses the start (CONFIG_INVALID). Default: every capability,
   * those not configured left off.
   */
  only?: readonly WorkerCapability[];
  /** Every capability (or every one in `only`) but these. Default none. */
  without?: readonly WorkerCapability[];
}

/**
 * Parses a comma-separated list of capability names (`--only`,
 * `--without`); an unknown or missing name is INVALID_INPUT naming
 * `field`.
 */
export function parseCapabilities(
  text: string,
  field: string,
): WorkerCapability[] {
  const names = text
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  if (names.length === 0) {
    throw invalidInput(field, 'required', `${field}: name a capability`, {
      allowed: [...WORKER_CAPABILITIES],
    });
  }
  const unknown = names.filter((n) => !isCapability(n));
  if (unknown.length > 0) {
    throw invalidInput(
      field,
      'capability',
      `${field}: unknown capability ${unknown.join(', ')} ` +
        `(one of ${WORKER_CAPABILITIES.join(', ')})`,
      { unknown, allowed: [...WORKER_CAPABILITIES] },
    );
  }
  return [...new Set(names as WorkerCapability[])];
}

/**
 * The capabilities selected, in their fixed order; refuses a selection
 * that leaves nothing to run.
 */
export function selectedCapabilities(
  selection: CapabilitySelection,
): WorkerCapability[] {
  const only = selection.only ?? WORKER_CAPABILITIES;
  const without = new Set(selection.without ?? []);
  const selected = WORKER_CAPABILITIES.filter(
    (c) => only.includes(c) && !without.has(c),
  );
  if (selected.length === 0) {
    throw invalidInput(
      selection.only ? 'only' : 'without',
      'nothing-selected',
      'the selection leaves the worker nothing to run',
    );
  }
  return selected;
}

function isCapability(name: string): name is WorkerCapability {
  return (WORKER_CAPABILITIES as readonly string[]).includes(name);
}
