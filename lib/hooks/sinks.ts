// Where events go (Event_Webhook, Event_Command): send() takes an event from the packet path and
// returns at once; each configured sink has its own delivery queue. Only the DELIVERED types are
// sent; 'spa-refused' is summed into at most one 'refusals' event a minute. Delivery failures
// are logged at most once a minute per sink with the count dropped so far.

import { randomUUID } from 'node:crypto';
import { RefusalSummary } from '../events/refusal-summary.js';
import { DELIVERED, type EventType, type SesameEvent } from '../events/types.js';
import { eventBody, eventHeaders } from '../events/wire.js';
import { DeliveryQueue, type QueueOptions } from './delivery-queue.js';
import { COMMAND_TIMEOUT_MS, runEventCommand } from './event-command.js';
import { WEBHOOK_TIMEOUT_MS, Webhook, webhookUrl } from './webhook.js';

export interface EventSink {
  send(e: SesameEvent, wallMs: number): void;
  /** Events dropped by every sink (queue full, out of retries, shut down). */
  readonly dropped: number;
  /** Per sink, for sesame_events_dropped_total{sink}. */
  stats(): readonly SinkStats[];
  /** Waits at most `graceMs` (default 2 s) for deliveries under way. */
  close(graceMs?: number): Promise<void>;
}

export type SinkName = 'webhook' | 'command';

export interface SinkStats {
  readonly sink: SinkName;
  readonly delivered: number;
  readonly dropped: number;
}

export interface SinksOptions {
  readonly webhook?: { readonly url: string; readonly secret?: Uint8Array };
  /** Event_Command: a program, run without a shell. */
  readonly command?: string;
  /** This node's name, in every body. */
  readonly node: string;
  readonly log: (line: string) => void;
  /** Queue settings over the defaults (tests). */
  readonly queue?: Partial<QueueOptions>;
  /** The refusal summary's period (ms, default 60 s). */
  readonly summaryMs?: number;
}

/** One event as queued: its body is built once, at its first attempt (not on the packet path); its headers at each. */
class Queued {
  readonly type: EventType;
  readonly delivery = randomUUID();
  private text: string | undefined;

  constructor(private readonly e: SesameEvent, private readonly wallMs: number, private readonly node: string) {
    this.type = e.type;
  }

  get body(): string {
    this.text ??= eventBody(this.e, { wallMs: this.wallMs, node: this.node, delivery: this.delivery });
    return this.text;
  }
}

export const DEFAULT_CLOSE_GRACE_MS = 2000;
const LOG_EVERY_MS = 60_000;
const TICK_MS = 1000;

/** One sink: its queue and its throttled failure line. */
class Outlet {
  readonly queue: DeliveryQueue<Queued>;
  private lastLog = -Infinity;
  private unlogged: string | undefined;

  constructor(readonly name: SinkName, deliver: (q: Queued, signal: AbortSignal) => Promise<void>,
    options: Partial<QueueOptions>, private readonly log: (line: string) => void) {
    this.queue = new DeliveryQueue(deliver, options, {
      onFailure: (error) => this.failed(error),
      onDrop: (reason) => { if (reason === 'full') this.failed('queue full'); },
    });
  }

  private failed(error: string): void {
    this.unlogged = error;
    this.flushLog(false);
  }

  /** Logs the last failure if one is unlogged and a minute has passed (or at once when `force`). */
  flushLog(force: boolean): void {
    const now = performance.now();
    if (this.unlogged === undefined || (!force && now - this.lastLog < LOG_EVERY_MS)) return;
    this.lastLog = now;
    this.log(`event ${this.name}: delivery failed (${this.unlogged}); ${this.queue.dropped} events dropped so far`);
    this.unlogged = undefined;
  }
}

export function openSinks(o: SinksOptions): EventSink {
  const outlets: Outlet[] = [];
  const queue = o.queue ?? {};
  let webhook: Webhook | undefined;
  if (o.webhook !== undefined) {
    const hook = new Webhook(webhookUrl(o.webhook.url), queue.concurrency ?? 2);
    const secret = o.webhook.secret;
    webhook = hook;
    outlets.push(new Outlet('webhook', (q, signal) => {
      const body = q.body;
      const signing = secret !== undefined ? { secret } : {};
      const headers = eventHeaders({ type: q.type, delivery: q.delivery, timestamp: Date.now() / 1000, body, ...signing });
      return hook.post(body, headers, signal);
    }, { timeoutMs: WEBHOOK_TIMEOUT_MS, ...queue }, o.log));
  }
  if (o.command !== undefined) {
    const path = o.command;
    outlets.push(new Outlet('command', (q, signal) => runEventCommand(path, q, signal),
      { timeoutMs: COMMAND_TIMEOUT_MS, concurrency: 1, ...queue }, o.log));
  }
  const summary = new RefusalSummary(o.summaryMs);
  const deliver = (e: SesameEvent, wallMs: number) => {
    const q = new Queued(e, wallMs, o.node);
    for (const out of outlets) out.queue.push(q);
  };
  const tick = outlets.length === 0 ? undefined : setInterval(() => {
    try {
      const due = summary.due(performance.now());
      if (due !== undefined) deliver(due, Date.now());
      for (const out of outlets) out.flushLog(false);
    } catch { /* the next tick tries again */ }
  }, TICK_MS).unref();
  let closing: Promise<void> | undefined;

  return {
    send(e, wallMs) {
      if (outlets.length === 0) return;
      try {
        if (e.type === 'spa-refused') summary.add(e.reason, performance.now());
        else if (DELIVERED.has(e.type)) deliver(e, wallMs);
      } catch { /* never into the packet path */ }
    },
    get dropped() { return outlets.reduce((n, out) => n + out.queue.dropped, 0); },
    stats: () => outlets.map((out) => ({ sink: out.name, delivered: out.queue.delivered, dropped: out.queue.dropped })),
    close(graceMs = DEFAULT_CLOSE_GRACE_MS) {
      closing ??= (async () => {
        if (tick !== undefined) clearInterval(tick);
        await Promise.all(outlets.map((out) => out.queue.close(graceMs)));
        for (const out of outlets) out.flushLog(true);
        webhook?.close();
      })();
      return closing;
    },
  };
}
