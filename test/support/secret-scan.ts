import type { KnownSecret } from './known-secrets.js';

/**
 * Where scanned text came from: a log line, a body `fetch` received, or
 * what a child process (a CLI command) printed.
 */
export type ScanSource = 'log' | 'response' | 'output';

/** A known secret found in scanned text. */
export interface Leak {
  source: ScanSource;
  label: string;
  /** The text around it, the secret itself replaced by its label. */
  excerpt: string;
}

const EXCERPT_CHARS = 160;

/**
 * Collects text a test file produced (log lines, API responses) and
 * finds known secrets in it. The findings never contain the secret.
 */
export class SecretScan {
  private readonly texts: { source: ScanSource; text: string }[] = [];
  private readonly pending = new Set<Promise<void>>();

  add(source: ScanSource, text: string): void {
    this.texts.push({ source, text });
  }

  /** Text that arrives later (a response body being read). */
  addLater(source: ScanSource, text: Promise<string>): void {
    const p = text.then(
      (t) => this.add(source, t),
      () => undefined,
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for bodies still being read, at most `timeoutMs`. */
  async settled(timeoutMs = 2_000): Promise<void> {
    const timeout = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.all([...this.pending]), timeout]);
  }

  /** How many texts were collected (log lines and response bodies). */
  size(source?: ScanSource): number {
    return this.texts.filter((t) => !source || t.source === source).length;
  }

  /** Every known secret found, at most one finding per text and secret. */
  leaks(secrets: KnownSecret[]): Leak[] {
    const found: Leak[] = [];
    for (const { source, text } of this.texts) {
      for (const secret of secrets) {
        if (source !== 'log' && secret.allowedInResponses) continue;
        const at = indexOf(text, secret);
        if (at === null) continue;
        found.push({ source, label: secret.label, excerpt: excerpt(text, at) });
      }
    }
    return found;
  }
}

function indexOf(
  text: string,
  secret: KnownSecret,
): { start: number; end: number; label: string } | null {
  if (secret.value !== undefined) {
    const start = text.indexOf(secret.value);
    if (start < 0) return null;
    return { start, end: start + secret.value.length, label: secret.label };
  }
  const match = secret.pattern?.exec(text);
  if (!match) return null;
  return {
    start: match.index,
    end: match.index + match[0].length,
    label: secret.label,
  };
}

function excerpt(
  text: string,
  at: { start: number; end: number; label: string },
): string {
  const half = EXCERPT_CHARS / 2;
  const before = text.slice(Math.max(0, at.start - half), at.start);
  const after = text.slice(at.end, at.end + half);
  return `${before}[SECRET: ${at.label}]${after}`.replace(/\s+/g, ' ');
}

/** The message a test file fails with: labels and excerpts only. */
export function leakReport(leaks: Leak[]): string {
  const lines = leaks
    .slice(0, 20)
    .map((l) => `- ${l.source}: ${l.label}: ${l.excerpt}`);
  const more = leaks.length > 20 ? [`... and ${leaks.length - 20} more`] : [];
  return [
    `${leaks.length} known secret(s) found in this file's logs or API ` +
      'responses:',
    ...lines,
    ...more,
  ].join('\n');
}

const ACTIVE = Symbol.for('tenantgate.secretScan');
type Holder = { [ACTIVE]?: SecretScan };

/** Makes `scan` the one this test file's setup installed. */
export function setActiveScan(scan: SecretScan): void {
  (globalThis as Holder)[ACTIVE] = scan;
}

/** The scan of the running test file (tests of the scan read it). */
export function activeScan(): SecretScan | undefined {
  return (globalThis as Holder)[ACTIVE];
}
