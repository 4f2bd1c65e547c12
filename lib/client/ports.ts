// `port[:proto]` as knock 0.8 reads it: split at the first ':'; exactly `udp` (lower case) is
// UDP, anything else is TCP (knock sends `2222:UDP` as TCP). The port is a number or a service
// name from /etc/services. Ruling: knock 0.8 wraps 70000 to 4464; Sesame refuses it.

import { readFileSync } from 'node:fs';
import type { Protocol } from '../config/types.js';
import { failure, type Result } from '../errors/result.js';

export interface Hit {
  readonly port: number;
  readonly protocol: Protocol;
  /** The port as typed, for `hitting tcp host:port` (knock prints it so). */
  readonly typed: string;
}

export type HitResult = Result<{ hit: Hit }>;

let services: Map<string, number> | undefined;

function serviceTable(path = '/etc/services'): Map<string, number> {
  if (services) return services;
  services = new Map();
  let text = '';
  try { text = readFileSync(path, 'utf8'); } catch { /* no services file: numbers only */ }
  for (const line of text.split('\n')) {
    const [entry] = line.split('#');
    const words = (entry ?? '').trim().split(/\s+/);
    const m = /^(\d+)\/(tcp|udp)$/.exec(words[1] ?? '');
    if (!m || !words[0]) continue;
    for (const name of [words[0], ...words.slice(2)]) if (!services.has(name)) services.set(name, Number(m[1]));
  }
  return services;
}

export function parseHit(arg: string, allUdp: boolean): HitResult {
  const i = arg.indexOf(':');
  const typed = i === -1 ? arg : arg.slice(0, i);
  const suffix = i === -1 ? undefined : arg.slice(i + 1);
  const protocol: Protocol = allUdp || suffix === 'udp' ? 'udp' : 'tcp';
  let port: number | undefined;
  if (/^\d+$/.test(typed)) port = Number(typed);
  else if (/^[A-Za-z][\w.+-]*$/.test(typed)) port = serviceTable().get(typed);
  if (port === undefined) return failure(`knock: invalid port '${typed}'`);
  if (port > 65535) return failure(`knock: port ${typed} is out of range (0-65535)`);
  return { ok: true, hit: { port, protocol, typed } };
}
