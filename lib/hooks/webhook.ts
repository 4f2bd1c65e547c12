// One webhook POST (Event_Webhook, docs/events.md): the event's JSON with its X-Sesame-* headers
// to an http:// or https:// URL over a small keep-alive pool. Success is a 2xx answer; redirects
// are not followed; at most 64 KiB of the answer is read, then dropped. The attempt's time limit
// (connect and answer) is the delivery queue's: its signal aborts the request.

import http from 'node:http';
import https from 'node:https';

/** The queue's per-attempt limit for a webhook (ms). */
export const WEBHOOK_TIMEOUT_MS = 5000;
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const USER_AGENT = 'sesame';

/** The URL of Event_Webhook, or an Error saying why it is not one. */
export function webhookUrl(text: string): URL {
  let url: URL;
  try { url = new URL(text); } catch { throw new Error(`not a URL: ${JSON.stringify(text)}`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http:// or https:// URL: ${url.protocol}`);
  return url;
}

export class Webhook {
  private readonly agent: http.Agent;
  private readonly client: typeof http | typeof https;

  constructor(readonly url: URL, maxSockets = 2) {
    const tls = url.protocol === 'https:';
    this.client = tls ? https : http;
    this.agent = tls ? new https.Agent({ keepAlive: true, maxSockets }) : new http.Agent({ keepAlive: true, maxSockets });
  }

  /** POSTs `body`; resolves on a 2xx answer, rejects with what went wrong otherwise. */
  post(body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) { reject(new Error('aborted')); return; }
      const data = Buffer.from(body, 'utf8');
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (error !== undefined) reject(error);
        else if (signal.aborted) reject(new Error('aborted'));
        else resolve();
      };
      const req = this.client.request(this.url, {
        method: 'POST', agent: this.agent, signal,
        headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(data.length), 'User-Agent': USER_AGENT },
      }, (res) => {
        const status = res.statusCode ?? 0;
        const answer = () => settle(status >= 200 && status < 300 ? undefined : new Error(`HTTP ${status}`));
        let read = 0;
        res.on('data', (b: Buffer) => {
          read += b.length;
          if (read > MAX_RESPONSE_BYTES) { answer(); res.destroy(); }
        });
        res.on('error', () => { /* the status is known; the rest of the answer is not needed */ });
        res.on('close', answer);
      });
      req.on('error', (e) => settle(e));
      req.end(data);
    });
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}
