// Test helpers: build packets and run them through a Matcher, rendering events as the daemon's log lines.

import { knockLine } from '../../lib/engine/lines.js';
import { parseConfig } from '../../lib/config/parser.js';
import type { Config } from '../../lib/config/types.js';
import { Matcher, type MatcherOptions } from '../../lib/matcher/matcher.js';
import type { MatchEvent, Packet } from '../../lib/matcher/types.js';

export const SERVER4 = '10.77.0.1';
export const SERVER6 = 'fd77::1';
export const CLIENT = '10.77.0.2';
export const CLIENT2 = '10.77.0.3';

export const BASE = `[options]
	LogFile = /tmp/kdtest/knockd.log
	Interface = kd0
[openSSH]
	sequence = 7000,8000,9000
	seq_timeout = 5
	command = echo OPEN %IP% >> /tmp/kdtest/cmd.out
	tcpflags = syn
[closeSSH]
	sequence = 9000,8000,7000
	seq_timeout = 5
	command = echo CLOSE %IP% >> /tmp/kdtest/cmd.out
	tcpflags = syn
`;

export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

export interface Knock extends Packet {
  /** Milliseconds since the start of the scenario. */
  readonly at: number;
}

type Opt = { src?: string; dst?: string; at?: number };

function family(src: string): 4 | 6 { return src.includes(':') ? 6 : 4; }

export function tcp(dport: number, flags: number, o: Opt = {}): Knock {
  const src = o.src ?? CLIENT;
  return { src, dst: o.dst ?? (family(src) === 6 ? SERVER6 : SERVER4), family: family(src), protocol: 'tcp', dport, tcpFlags: flags, at: o.at ?? 0 };
}
export const syn = (dport: number, o: Opt = {}) => tcp(dport, F.SYN, o);
export function udp(dport: number, o: Opt = {}): Knock {
  const src = o.src ?? CLIENT;
  return { src, dst: o.dst ?? (family(src) === 6 ? SERVER6 : SERVER4), family: family(src), protocol: 'udp', dport, tcpFlags: 0, at: o.at ?? 0 };
}

/** knock(1) as a list of SYNs (or `port:udp`), at one time. */
export function knock(spec: string, o: Opt = {}): Knock[] {
  return spec.split(/\s+/).filter(Boolean).map((p) => {
    const [port, proto] = p.split(':');
    return proto === 'udp' ? udp(Number(port), o) : syn(Number(port), o);
  });
}

/**
 * The daemon's own line for an event (lib/engine/lines.ts), the knocker shown by address, without
 * the trailing newline some of knockd's messages carry (an empty line in its file).
 */
export function render(e: MatchEvent): string | undefined {
  return knockLine(e, e.src)?.replace(/\n$/, '');
}

export function config(text: string): Config {
  return parseConfig(text, 'test.conf');
}

export function matcherFor(text: string, opts: MatcherOptions = {}): Matcher {
  return new Matcher(config(text).doors, { localAddresses: [SERVER4, SERVER6], ...opts });
}

/** Feeds knocks in order (each at its `at`), then expires at `until`; returns the log lines. */
export function run(m: Matcher, knocks: readonly Knock[], until?: number): string[] {
  const out: string[] = [];
  const push = (es: MatchEvent[]) => { for (const e of es) { const s = render(e); if (s) out.push(s); } };
  for (const k of knocks) push(m.handle(k, k.at));
  if (until !== undefined) push(m.expire(until));
  return out;
}

export function opens(lines: readonly string[]): string[] {
  return lines.filter((l) => l.endsWith('OPEN SESAME'));
}
