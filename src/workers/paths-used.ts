import type { Operation } from '../accounts/kinds.js';

/** The path an operation last took in this process, and when. */
export interface PathUse {
  path: 'V1' | 'V2';
  at: Date;
}

/** The last use of each operation this process has run. */
export type PathsUsedSnapshot = Partial<Record<Operation, PathUse>>;

/**
 * Process-local record of the path (V1/V2) each operation last took.
 * The enforcement gate notes every routed attempt (a map update, no
 * I/O); the registry heartbeat writes the snapshot into its row.
 */
export class PathsUsed {
  private readonly last = new Map<Operation, PathUse>();

  /** Notes that `operation` took `path` at `at`. */
  note(operation: Operation, path: 'V1' | 'V2', at: Date): void {
    this.last.set(operation, { path, at });
  }

  /** The last use of each operation run so far. */
  snapshot(): PathsUsedSnapshot {
    return Object.fromEntries(this.last) as PathsUsedSnapshot;
  }
}
