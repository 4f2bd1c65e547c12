// `TCPFlags = syn,!ack`: the value is upper-cased and split on ','. Lines accumulate; the last
// word for a flag wins (`syn` then `!syn` means SYN must be clear), as in knockd.

import { msg } from './errors.js';
import { failure, type Result } from '../errors/result.js';
import { trimC, upperC } from './lines.js';
import { TCP_FLAG_BITS, TCP_FLAG_ORDER, type TcpFlagName, type TcpFlagRule } from './types.js';

export type FlagsResult = Result<{ rule: TcpFlagRule }>;

// Sesame trims each flag, so `syn, ack` works (a documented difference); the error still shows
// the token as knockd would.
export function applyTcpFlags(rule: TcpFlagRule, value: string, line: number): FlagsResult {
  let { set, clear } = rule;
  for (const raw of upperC(value).split(',')) {
    const token = trimC(raw);
    const negated = token.startsWith('!');
    const name = negated ? token.slice(1) : token;
    if (!Object.hasOwn(TCP_FLAG_BITS, name)) return failure(msg.badFlag(line, raw));
    const bit = TCP_FLAG_BITS[name as TcpFlagName];
    if (negated) { clear |= bit; set &= ~bit; } else { set |= bit; clear &= ~bit; }
  }
  return { ok: true, rule: { set, clear } };
}

/** `SYN,!ACK` in knockd's flag order; empty string when no flag is constrained. */
export function formatTcpFlags(rule: TcpFlagRule): string {
  const out: string[] = [];
  for (const name of TCP_FLAG_ORDER) {
    const bit = TCP_FLAG_BITS[name];
    if (rule.set & bit) out.push(name);
    else if (rule.clear & bit) out.push(`!${name}`);
  }
  return out.join(',');
}

export function tcpFlagsMatch(rule: TcpFlagRule, flags: number): boolean {
  return (flags & rule.set) === rule.set && (flags & rule.clear) === 0;
}
