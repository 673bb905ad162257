import { operator, type Database } from '../db/database.js';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import type { Logger } from '../logging/logger.js';

/** Error names of severity P0 and P1: the ones worth waking someone. */
export const NOTIFIED_ERRORS: ReadonlyMap<string, 'P0' | 'P1'> = new Map(
  Object.values(ERROR_CATALOGUE)
    .filter((e) => e.severity !== 'P2')
    .map((e) => [e.name, e.severity as 'P0' | 'P1']),
);

export interface NotifierOptions {
  db: Database;
  logger: Logger;
  /** A Slack-compatible incoming webhook. */
  webhookUrl: string;
  /** How often to read the ledger. Default 2000 ms. */
  pollMs?: number;
  /**
   * One message per (environment, error, operation) within this time;
   * later ones are counted into the next message. Default 10 minutes.
   */
  dedupeMs?: number;
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
}

interface EventRow {
  id: string;
  at: Date | string;
  environment: string;
  operation: string;
  errorName: string;
  companyId: string;
  integrationAccountId: string | null;
  correlationId: string | null;
  documentId: string | null;
  origin: string;
}

export interface NotifyReport {
  posted: number;
  suppressed: number;
}

/**
 * Posts P0/P1 operation events from the ledger to a webhook within
 * seconds, one message per kind of failure within the de-duplication
 * window, with the ids needed to act (event, company, account,
 * correlation, document). Events before the notifier started are not
 * posted. A failed post is retried on the next tick.
 */
export class LedgerNotifier {
  private lastId: string | null = null;
  private readonly lastSent = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<NotifyReport> | undefined;

  constructor(private readonly options: NotifierOptions) {}

  /** Starts after the newest event, then reads every `pollMs`. */
  async start(): Promise<void> {
    this.lastId = await this.newestId();
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.options.pollMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Reads new events and posts what is due. */
  async tick(now = Date.now()): Promise<NotifyReport> {
    this.lastId ??= await this.newestId();
    const rows = await this.newEvents(this.lastId);
    const groups = new Map<string, EventRow[]>();
    for (const row of rows) {
      const key = `${row.environment}|${row.errorName}|${row.operation}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    const report = { posted: 0, suppressed: 0 };
    const dedupeMs = this.options.dedupeMs ?? 10 * 60_000;
    for (const [key, events] of groups) {
      const last = this.lastSent.get(key);
      if (last !== undefined && now - last < dedupeMs) {
        this.suppressed.set(
          key,
          (this.suppressed.get(key) ?? 0) + events.length,
        );
        report.suppressed += events.length;
        continue;
      }
      const earlier = this.suppressed.get(key) ?? 0;
      if (!(await this.post(message(events, earlier)))) return report;
      this.lastSent.set(key, now);
      this.suppressed.delete(key);
      report.posted += 1;
    }
    const newest = rows[rows.length - 1];
    if (newest) this.lastId = newest.id;
    return report;
  }

  private async post(body: unknown): Promise<boolean> {
    const log = this.options.logger;
    try {
      const response = await fetch(this.options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      if (response.ok) return true;
      log.warn(
        { event: 'alerts.webhook_failed', status: response.status },
        'alert webhook refused the message; retrying next tick',
      );
    } catch (error) {
      log.warn(
        {
          event: 'alerts.webhook_failed',
          err: error instanceof Error ? error.message : String(error),
        },
        'alert webhook unreachable; retrying next tick',
      );
    }
    return false;
  }

  private async newestId(): Promise<string> {
    const rows = await this.options.db.transaction(operator, (tx) =>
      tx.query<{ id: string | null }>(
        'SELECT max(id)::text AS id FROM "OperationEvent"',
      ),
    );
    return rows[0]?.id ?? '0';
  }

  private async newEvents(after: string): Promise<EventRow[]> {
    return this.options.db.transaction(operator, (tx) =>
      tx.query<EventRow>(
        `SELECT id::text AS id, at, environment, operation, "errorName",
                "companyId", "integrationAccountId", "correlationId",
                "documentId", origin
           FROM "OperationEvent"
          WHERE id > $1::bigint AND "errorName" = ANY($2::text[])
          ORDER BY id
          LIMIT 1000`,
        [after, [...NOTIFIED_ERRORS.keys()]],
      ),
    );
  }
}

/** A Slack-compatible message: `text` plus the ids, one line each. */
function message(events: EventRow[], earlier: number) {
  const first = events[0] as EventRow;
  const severity = NOTIFIED_ERRORS.get(first.errorName) ?? 'P1';
  const count = events.length + earlier;
  const lines = events
    .slice(0, 10)
    .map((e) =>
      [
        `event ${e.id}`,
        new Date(e.at).toISOString(),
        `company ${e.companyId}`,
        `account ${e.integrationAccountId ?? '-'}`,
        `correlation ${e.correlationId ?? '-'}`,
        `document ${e.documentId ?? '-'}`,
        e.origin,
      ].join(' | '),
    );
  const more = events.length > 10 ? [`… and ${events.length - 10} more`] : [];
  return {
    text:
      `[${severity}] ${first.errorName} × ${count} in ${first.environment} ` +
      `(${first.operation})` +
      (earlier > 0 ? `, ${earlier} of them while de-duplicated` : ''),
    severity,
    errorName: first.errorName,
    environment: first.environment,
    operation: first.operation,
    count,
    eventIds: events.map((e) => e.id),
    companyIds: [...new Set(events.map((e) => e.companyId))],
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: [...lines, ...more].join('\n') },
      },
    ],
  };
}
