import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * A fault a simulator plays on the next `times` requests (default 1),
 * whatever the route:
 * - `status`: answers with that status before doing anything (nothing
 *   is stored); 502 and 503 answer HTML, as a gateway does; 429 sends
 *   `Retry-After` (seconds, default 1).
 * - `latency`: waits `ms` once the request has arrived, then handles it
 *   (a send stores the document even if the client gave up).
 * - `drop-reply`: handles the request (a send stores the document), then
 *   destroys the socket without answering: a lost reply.
 */
export type SimulatorFault =
  | { kind: 'status'; status: 500 | 502 | 503; times?: number }
  | { kind: 'status'; status: 429; retryAfterSeconds?: number; times?: number }
  | { kind: 'latency'; ms: number; times?: number }
  | { kind: 'drop-reply'; times?: number };

/** How a simulator answers a 429 or 500 in its own error shape. */
export type FaultBody = (status: 429 | 500) => object | string;

/** The faults pending on one simulator, and the requests they marked. */
export class FaultQueue {
  readonly #pending: { fault: SimulatorFault; remaining: number }[] = [];
  readonly #dropped = new WeakSet<IncomingMessage>();
  readonly #delayed = new WeakMap<IncomingMessage, number>();
  readonly #closing = new AbortController();

  inject(fault: SimulatorFault): void {
    this.#pending.push({ fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.#pending.length = 0;
  }

  /** Cuts pending latency short (call before closing the server). */
  close(): void {
    this.#closing.abort();
  }

  /**
   * Faults first (a gateway answers before the service): registers an
   * `onRequest` hook that plays status faults and marks the others, and
   * a `preHandler` that plays latency once the body has arrived.
   */
  register(app: FastifyInstance, body: FaultBody): void {
    app.addHook('onRequest', async (request, reply) => {
      const fault = this.#take();
      if (fault?.kind === 'status') return playStatus(reply, fault, body);
      if (fault?.kind === 'latency') this.#delayed.set(request.raw, fault.ms);
      if (fault?.kind === 'drop-reply') this.#dropped.add(request.raw);
    });
    app.addHook('preHandler', async (request) => {
      const ms = this.#delayed.get(request.raw);
      if (ms !== undefined) await pause(ms, this.#closing.signal);
    });
  }

  /** Sends the answer, or drops it when a drop-reply fault marked it. */
  answer(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    payload: object | string,
    contentType?: string,
  ): FastifyReply {
    if (!this.#dropped.has(request.raw)) {
      if (contentType) reply.type(contentType);
      return reply.code(status).send(payload);
    }
    reply.hijack();
    request.raw.socket.destroy();
    return reply;
  }

  #take(): SimulatorFault | undefined {
    const pending = this.#pending.find((f) => f.remaining > 0);
    if (!pending) return undefined;
    pending.remaining -= 1;
    return pending.fault;
  }
}

function playStatus(
  reply: FastifyReply,
  fault: Extract<SimulatorFault, { kind: 'status' }>,
  body: FaultBody,
): FastifyReply {
  if (fault.status === 429) {
    const seconds = 'retryAfterSeconds' in fault ? fault.retryAfterSeconds : 1;
    return reply
      .code(429)
      .header('retry-after', String(seconds ?? 1))
      .send(body(429));
  }
  if (fault.status === 500) return reply.code(500).send(body(500));
  const title = fault.status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  return reply
    .code(fault.status)
    .type('text/html')
    .send(`<html><body><h1>${fault.status} ${title}</h1></body></html>`);
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Closing the simulator cuts the wait short.
  }
}

/** The status of a Fastify error (4xx kept, anything else 500). */
export function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 ? status : 500;
}

/** The address a listening Fastify app answers on, as an origin. */
export function originOf(app: FastifyInstance, scheme = 'http'): string {
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('The simulator is not listening on a TCP port');
  }
  return `${scheme}://${address.address}:${address.port}`;
}
