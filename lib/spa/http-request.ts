// SPA carried in an HTTP request, as fwknop's `-P http` sends it: `GET /<wire> HTTP/1.1` with '+'
// sent as '-' and '/' as '_' (fwknopd's ENABLE_SPA_OVER_HTTP). Pure: a payload in, the wire data
// and the X-Forwarded-For entries out, or why not. Whether the header is believed is decided by
// the gate (lib/matcher/forwarded-for.ts), never here.

import { printable } from './printable.js';

/** Header lines read; a request with more is refused (fwknop sends 4 or 5, a proxy adds a few). */
const MAX_HEADERS = 64;

export interface HttpSpa {
  readonly ok: true;
  /** The wire data, un-escaped ('-' → '+', '_' → '/'). */
  readonly wire: string;
  /** X-Forwarded-For entries in header order (several headers joined), or undefined without one. */
  readonly forwardedFor: readonly string[] | undefined;
}

export interface HttpRefusal {
  readonly ok: false;
  /** `ignore`: not an SPA request at all (fwknopd is silent); `refuse`: one, refused for `reason`. */
  readonly action: 'ignore' | 'refuse';
  readonly reason: string;
}

/** Whether a payload is an HTTP GET of a path (the only requests SPA over HTTP reads), case-insensitive as fwknopd. */
export function isHttpGet(payload: string): boolean {
  return payload.length >= 5 && payload.slice(0, 5).toUpperCase() === 'GET /';
}

/**
 * The SPA request in `payload`. fwknopd's User-Agent rule (a User-Agent starting "Fwknop", as its
 * client sends) applies unless `anyUserAgent`.
 */
export function parseHttpSpa(payload: string, anyUserAgent: boolean): HttpSpa | HttpRefusal {
  if (!isHttpGet(payload)) return { ok: false, action: 'ignore', reason: 'not an HTTP GET request' };
  const lines = payload.split(/\r?\n/);
  const first = lines[0]!;
  const m = /^GET \/([^\s]*)(?: HTTP\/1\.[01])?$/i.exec(first);
  if (!m) return { ok: false, action: 'refuse', reason: 'bad HTTP request line' };
  const headers = new Map<string, string[]>();
  let ended = lines.length === 1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // The split's last piece is what follows the last line end: empty there is no blank line.
    if (line === '') { ended = i < lines.length - 1; break; }
    if (i > MAX_HEADERS) return { ok: false, action: 'refuse', reason: 'too many HTTP header lines' };
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return { ok: false, action: 'refuse', reason: 'bad HTTP header line' };
    const name = line.slice(0, colon).toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  if (!ended) return { ok: false, action: 'refuse', reason: 'HTTP request without the end of its headers' };
  if (!anyUserAgent) {
    const ua = headers.get('user-agent');
    if (!ua || ua.length !== 1 || !ua[0]!.startsWith('Fwknop')) {
      const seen = ua ? ua.map((u) => `"${printable(u, 60)}"`).join(', ') : 'none';
      return { ok: false, action: 'refuse', reason: `HTTP User-Agent ${seen} is not Fwknop (SPA_HTTP_Any_User_Agent is off)` };
    }
  }
  const xff = headers.get('x-forwarded-for');
  const forwardedFor = xff?.flatMap((v) => v.split(',')).map((s) => s.trim());
  return { ok: true, wire: m[1]!.replace(/-/g, '+').replace(/_/g, '/'), forwardedFor };
}
