/**
 * Receives every line any logger of this process writes, at every
 * level, whatever level the logger itself was created with. Tests use
 * it to scan the whole suite's log output for secrets; production
 * never installs one.
 */
export type LogTap = (line: string) => void;

let active: LogTap | null = null;

/**
 * Sends the lines of every logger created from now on to `tap` as
 * well. Returns the function that removes it. One tap at a time: a
 * second install replaces the first.
 */
export function installLogTap(tap: LogTap): () => void {
  active = tap;
  return () => {
    if (active === tap) active = null;
  };
}

/** The installed tap, if any (read by `createLogger`). */
export function currentLogTap(): LogTap | null {
  return active;
}
