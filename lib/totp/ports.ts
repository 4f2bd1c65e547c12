// How a code is knocked (docs/totp.md): its digits in pairs from the left; pair i is knocked at
// TOTP_Port_Base + 100·i + pair. Code 287082, base 40000: 40028, 40170, 40282.

import type { ProtoPort, Protocol } from '../net/protocol.js';

/** Ports each pair of digits ranges over: 00..99. */
export const PAIR_SPAN = 100;

/** The knocks of `code` (an even number of digits) from `base`. */
export function codePorts(code: string, base: number, protocol: Protocol): ProtoPort[] {
  if (!/^(?:[0-9]{2})+$/.test(code)) throw new RangeError(`a code is pairs of digits, not "${code}"`);
  const out: ProtoPort[] = [];
  for (let i = 0; i * 2 < code.length; i++) out.push({ protocol, port: base + PAIR_SPAN * i + Number(code.slice(i * 2, i * 2 + 2)) });
  return out;
}

/** The code a list of knocks carries, or undefined if a port lies outside its pair's range. */
export function portsCode(ports: readonly number[], base: number): string | undefined {
  let code = '';
  for (const [i, port] of ports.entries()) {
    const pair = port - base - PAIR_SPAN * i;
    if (!Number.isInteger(pair) || pair < 0 || pair >= PAIR_SPAN) return undefined;
    code += String(pair).padStart(2, '0');
  }
  return code;
}

/** Why a code of `digits` digits cannot be knocked from `base` (its ports pass 65535), or undefined. */
export function codeRangeProblem(base: number, digits: number): string | undefined {
  const { last } = codePortRange(base, digits);
  return last > 65535 ? `${digits === 8 ? 'an' : 'a'} ${digits}-digit code needs ports up to ${last}, past 65535` : undefined;
}

/** The first and last port a code of `digits` digits may use from `base`. */
export function codePortRange(base: number, digits: number): { readonly first: number; readonly last: number } {
  return { first: base, last: base + PAIR_SPAN * (digits / 2) - 1 };
}

/** The ports each pair of a code may use: pair i spans base + 100·i .. + 99. */
export function pairRanges(base: number, digits: number, protocol: Protocol): { protocol: Protocol; first: number; last: number }[] {
  return Array.from({ length: digits / 2 }, (_, i) => {
    const first = base + PAIR_SPAN * i;
    return { protocol, first, last: first + PAIR_SPAN - 1 };
  });
}
