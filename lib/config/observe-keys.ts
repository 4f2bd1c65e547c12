// [options] keys that let the world watch (docs/metrics.md, docs/events.md):
//   Metrics_Listen = ADDR:PORT            GET /metrics in Prometheus text format ([::1]:9464 for IPv6)
//   Event_Webhook = URL                   a JSON POST per event (http or https)
//   Event_Webhook_Secret_File = PATH      owner-only; its first line signs the POSTs (HMAC-SHA-256)
//   Event_Command = PATH                  run per event, no shell, the event's JSON on stdin
// All off by default: a knockd.conf that names none of them runs as before.

import { ConfigError, failAtLine } from './errors.js';
import type { KeyContext, OptionKey, OptionsDraft } from './drafts.js';
import type { EventOptions, ListenAddress } from './types.js';
import { canonicalAddress } from './address.js';

/** The shortest webhook secret taken: 128 bits. */
export const MIN_WEBHOOK_SECRET_BYTES = 16;
const MAX_URL = 2048;

function listen(ctx: KeyContext, value: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  const host = m ? canonicalAddress(m[1] ?? m[2]!) : undefined;
  // A bracketed literal is IPv6, a bare one IPv4: 127.0.0.1 in brackets or ::1 bare is a typo.
  if (!m || host === undefined || (m[1] !== undefined) !== host.includes(':')) {
    return failAtLine(ctx, `Metrics_Listen: "${value}" is not ADDRESS:PORT (127.0.0.1:9464, [::1]:9464)`);
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) failAtLine(ctx, `Metrics_Listen: port ${m[3]} is not 1-65535`);
  if (host === '0.0.0.0' || host === '::') {
    ctx.warnings.push(`${ctx.file}: line ${ctx.line}: Metrics_Listen ${value} listens on every address: bind it to a management address ` +
      '(the metrics name your doors; docs/metrics.md)');
  }
  return { host, port, line: ctx.line };
}

function webhookUrl(ctx: KeyContext, value: string): string {
  let url: URL | undefined;
  try { url = new URL(value); } catch { url = undefined; }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    failAtLine(ctx, `Event_Webhook: "${value}" is not an http:// or https:// URL`);
  }
  // Credentials in the URL would be logged with it, and travel beside the signature's secret.
  if (url!.username || url!.password) {
    failAtLine(ctx, 'Event_Webhook: no user or password in the URL (sign with Event_Webhook_Secret_File)');
  }
  if (url!.hash) failAtLine(ctx, 'Event_Webhook: a URL with a #fragment');
  if (value.length > MAX_URL) failAtLine(ctx, `Event_Webhook: URL longer than ${MAX_URL} characters`);
  return url!.href;
}

function secret(ctx: KeyContext, path: string): { path: string; secret: string } {
  // The first line as it is, without its line ending: receivers read it the same way (docs/events.md).
  const first = (ctx.readSecret(path).split('\n')[0] ?? '').replace(/\r$/, '');
  if (new TextEncoder().encode(first).length < MIN_WEBHOOK_SECRET_BYTES) {
    failAtLine(ctx, `Event_Webhook_Secret_File: ${path}: the secret (its first line) is shorter than ${MIN_WEBHOOK_SECRET_BYTES} bytes`);
  }
  return { path, secret: first };
}

function command(ctx: KeyContext, value: string): string {
  // Run as named, with no shell: an absolute path, no arguments.
  if (!value.startsWith('/') || /\s/.test(value)) {
    failAtLine(ctx, `Event_Command: "${value}" is not an absolute path (no arguments, no shell)`);
  }
  ctx.checkProgram(value); // run as root: someone else's or a writable program would be theirs to run as root
  return value;
}

function draft(ctx: KeyContext): NonNullable<OptionsDraft['events']> {
  ctx.options.events ??= { firstLine: ctx.line };
  return ctx.options.events;
}

export const OBSERVE_OPTION_KEYS: readonly OptionKey[] = [
  { names: ['METRICS_LISTEN'], apply(value, ctx) { ctx.options.metricsListen = listen(ctx, value); } },
  { names: ['EVENT_WEBHOOK'], apply(value, ctx) { draft(ctx).webhook = { url: webhookUrl(ctx, value), line: ctx.line }; } },
  {
    names: ['EVENT_WEBHOOK_SECRET_FILE'],
    apply(value, ctx) { draft(ctx).secret = { ...secret(ctx, value), line: ctx.line }; },
  },
  { names: ['EVENT_COMMAND'], apply(value, ctx) { draft(ctx).command = command(ctx, value); } },
];

export function finishEvents(d: OptionsDraft['events'], file: string): EventOptions | undefined {
  if (!d) return undefined;
  if (d.secret && !d.webhook) {
    throw new ConfigError(`config: line ${d.secret.line}: Event_Webhook_Secret_File needs Event_Webhook`, file, d.secret.line);
  }
  return {
    webhook: d.webhook && { url: d.webhook.url, secretFile: d.secret?.path, secret: d.secret?.secret },
    command: d.command, line: d.firstLine,
  };
}
