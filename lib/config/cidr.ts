// Networks of either family (`10.0.0.0/8`, `fd77::/64`, or a bare address as /32 or /128), for
// trusted proxies. Strict, as the NAT destination lists: host bits set, zones, octal or shortened
// IPv4 forms are refused. An IPv4-mapped IPv6 address is read as the IPv4 address it carries.

import { formatIPv6, parseIPv6 } from './address.js';
import { isIPv6 } from '../net/ip.js';
import { ipv4Number } from '../net/ipv4.js';

export interface Network {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export interface Address {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952. */
  readonly text: string;
}

/** An address of either family, canonical; undefined for anything else (zones included). */
export function parseAddress(text: string): Address | undefined {
  const n = ipv4Number(text);
  if (n !== undefined) return v4(n);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const bytes = parseIPv6(text);
  const mapped = bytes.subarray(0, 12).every((b, i) => b === (i >= 10 ? 0xff : 0));
  if (mapped) return v4(((bytes[12]! << 24) >>> 0) + (bytes[13]! << 16) + (bytes[14]! << 8) + bytes[15]!);
  return { family: 6, bytes, text: formatIPv6(bytes) };
}

function v4(n: number): Address {
  const bytes = new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  return { family: 4, bytes, text: bytes.join('.') };
}

/** `ADDR/LEN` or `ADDR`; undefined when malformed or host bits are set. */
export function parseNetwork(text: string): Network | undefined {
  const slash = text.indexOf('/');
  const a = parseAddress(slash === -1 ? text : text.slice(0, slash));
  if (!a) return undefined;
  const max = a.family === 4 ? 32 : 128;
  if (slash === -1) return { family: a.family, bytes: a.bytes, prefix: max };
  const len = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len) || Number(len) > max) return undefined;
  const net = { family: a.family, bytes: a.bytes, prefix: Number(len) };
  for (let bit = net.prefix; bit < max; bit++) if (a.bytes[bit >> 3]! & (0x80 >> (bit & 7))) return undefined;
  return net;
}

export function inNetwork(a: Address, net: Network): boolean {
  if (a.family !== net.family) return false;
  const whole = net.prefix >> 3;
  for (let i = 0; i < whole; i++) if (a.bytes[i] !== net.bytes[i]) return false;
  const rest = net.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a.bytes[whole]! & mask) === (net.bytes[whole]! & mask);
}

export function formatNetwork(net: Network): string {
  const text = net.family === 4 ? net.bytes.join('.') : formatIPv6(net.bytes);
  return net.prefix === (net.family === 4 ? 32 : 128) ? text : `${text}/${net.prefix}`;
}
