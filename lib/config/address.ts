// IP address text in one canonical form (IPv4 dotted quad, IPv6 per RFC 5952), so that a Target
// written as `FD77:0::1` and a packet to fd77::1 compare equal.

import { isIPv4, isIPv6 } from '../net/ip.js';

export function canonicalAddress(text: string): string | undefined {
  if (isIPv4(text)) return text.split('.').map((o) => String(Number(o))).join('.');
  if (isIPv6(text) && !text.includes('%')) return formatIPv6(parseIPv6(text));
  return undefined;
}

/** 16 bytes from IPv6 text (already validated by isIPv6). */
export function parseIPv6(text: string): Uint8Array {
  let head = text;
  let v4tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4tail = text.slice(lastColon + 1).split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff; });
  if (v4tail.length === 4) out.set(v4tail, 12);
  return out;
}

/** RFC 5952: lower case, no leading zeros, longest run (>1) of zero groups as '::', first on a tie. */
export function formatIPv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  // IPv4-mapped addresses keep their dotted tail, as inet_ntop prints them.
  if (bestLen === 5 && best === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
