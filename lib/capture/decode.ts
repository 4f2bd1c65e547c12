// Frame decoder: link layer → IPv4/IPv6 → TCP/UDP destination port and flags. Pure and total:
// every input gives a Packet or a drop reason; nothing throws, nothing reads past `length`.
// Runs synchronously inside the capture handler because libpcap reuses one buffer.

import { formatIPv6 } from '../config/address.js';
import type { Packet } from '../matcher/types.js';

export type LinkType = 'ethernet' | 'sll' | 'raw';

export type DropReason =
  | 'truncated'    // shorter than its headers say
  | 'not-ip'       // another ethertype (ARP, VLAN-tagged, ...)
  | 'bad-ip'       // version or header length makes no sense
  | 'fragment'     // a non-first fragment has no transport header
  | 'other-proto'  // not TCP or UDP (ICMP, ...)
  | 'mapped-src';  // IPv6 from an IPv4-mapped source (::ffff:a.b.c.d): spoofed, never a real host

export type Decoded = Packet | DropReason;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
// IPv6 extension headers walked to find the transport header (knockd 0.8 does not walk them).
const V6_HOP = 0, V6_ROUTING = 43, V6_FRAGMENT = 44, V6_DSTOPTS = 60, V6_AH = 51;
const MAX_V6_EXT = 8;
// UDP payload sizes fwknopd looks at (smaller or larger ones it drops without a word).
const SPA_PAYLOAD_MIN = 140, SPA_PAYLOAD_MAX = 1500;
// TCP segments' data: an HTTP GET's first segment, or a later piece of one (SPA over HTTP).
const GET_SLASH = [0x47, 0x45, 0x54, 0x20, 0x2f];

/** "GET /", the method in any case (fwknopd compares it case-insensitively); the caller checks 5 bytes are there. */
function startsGet(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 5; i++) if ((i < 3 ? buf[at + i]! & 0xdf : buf[at + i]) !== GET_SLASH[i]) return false;
  return true;
}

/** cap's link-type strings → ours; undefined = unsupported. */
export function linkTypeOf(capName: string): LinkType | undefined {
  switch (capName) {
    case 'ETHERNET': return 'ethernet';
    case 'LINKTYPE_LINUX_SLL': return 'sll';
    case 'RAW': return 'raw';
    default: return undefined;
  }
}

export function decodeFrame(link: LinkType, buf: Uint8Array, length: number): Decoded {
  const len = Math.min(length, buf.length);
  let off: number;
  let ethertype: number | undefined;
  switch (link) {
    case 'ethernet':
      if (len < 14) return 'truncated';
      ethertype = (buf[12]! << 8) | buf[13]!;
      off = 14;
      break;
    case 'sll':
      if (len < 16) return 'truncated';
      ethertype = (buf[14]! << 8) | buf[15]!;
      off = 16;
      break;
    case 'raw':
      off = 0;
      break;
  }
  if (ethertype !== undefined && ethertype !== ETHERTYPE_IPV4 && ethertype !== ETHERTYPE_IPV6) return 'not-ip';
  if (len < off + 1) return 'truncated';
  const version = buf[off]! >> 4;
  if (version === 4 && (ethertype === undefined || ethertype === ETHERTYPE_IPV4)) return decodeIPv4(buf, off, len);
  if (version === 6 && (ethertype === undefined || ethertype === ETHERTYPE_IPV6)) return decodeIPv6(buf, off, len);
  return 'bad-ip';
}

function decodeIPv4(buf: Uint8Array, off: number, len: number): Decoded {
  if (len < off + 20) return 'truncated';
  const ihl = (buf[off]! & 0x0f) * 4;
  if (ihl < 20) return 'bad-ip';
  if ((((buf[off + 6]! << 8) | buf[off + 7]!) & 0x1fff) !== 0) return 'fragment';
  const proto = buf[off + 9]!;
  // Ethernet pads short frames: the IP header's total length says where the packet ends.
  // (0 under some offloads: then the captured length stands.)
  const total = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (total >= 20) len = Math.min(len, off + total);
  const src = `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  const dst = `${buf[off + 16]}.${buf[off + 17]}.${buf[off + 18]}.${buf[off + 19]}`;
  return transport(buf, off + ihl, len, proto, src, dst, 4);
}

function isV4Mapped(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[at + i] !== 0) return false;
  return buf[at + 10] === 0xff && buf[at + 11] === 0xff;
}

function decodeIPv6(buf: Uint8Array, off: number, len: number): Decoded {
  if (len < off + 40) return 'truncated';
  let next = buf[off + 6]!;
  const plen = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (plen > 0) len = Math.min(len, off + 40 + plen); // 0: a jumbogram, or an offload's
  // Nodes never send IPv4-mapped sources on the wire (RFC 4291 2.5.5.2); granting one would open
  // the IPv4 address while commands saw an IPv6 one.
  if (isV4Mapped(buf, off + 8)) return 'mapped-src';
  const src = formatIPv6(buf.subarray(off + 8, off + 24));
  const dst = formatIPv6(buf.subarray(off + 24, off + 40));
  let p = off + 40;
  for (let i = 0; i <= MAX_V6_EXT; i++) {
    if (next === PROTO_TCP || next === PROTO_UDP) return transport(buf, p, len, next, src, dst, 6);
    if (next === V6_HOP || next === V6_ROUTING || next === V6_DSTOPTS) {
      if (len < p + 2) return 'truncated';
      next = buf[p]!;
      p += (buf[p + 1]! + 1) * 8;
    } else if (next === V6_FRAGMENT) {
      if (len < p + 8) return 'truncated';
      if ((((buf[p + 2]! << 8) | buf[p + 3]!) & 0xfff8) !== 0) return 'fragment';
      next = buf[p]!;
      p += 8;
    } else if (next === V6_AH) {
      if (len < p + 2) return 'truncated';
      next = buf[p]!;
      p += (buf[p + 1]! + 2) * 4;
    } else {
      return 'other-proto';
    }
  }
  return 'other-proto';
}

function transport(buf: Uint8Array, p: number, len: number, proto: number, src: string, dst: string, family: 4 | 6): Decoded {
  if (proto === PROTO_TCP) {
    if (len < p + 14) return 'truncated';
    const dport = (buf[p + 2]! << 8) | buf[p + 3]!;
    const tcpFlags = buf[p + 13]!;
    const data = p + (buf[p + 12]! >> 4) * 4;
    const size = len - data;
    // Data travels on only where SPA over HTTP could use it: a request's first segment ("GET /",
    // 140 bytes at least), or a later one of a request in pieces (the engine joins them by flow).
    const shortGet = size >= GET_SLASH.length && size < SPA_PAYLOAD_MIN && startsGet(buf, data);
    if (data < p + 20 || size < 1 || size > SPA_PAYLOAD_MAX || shortGet) {
      return { src, dst, family, protocol: 'tcp', dport, tcpFlags };
    }
    const sport = (buf[p]! << 8) | buf[p + 1]!;
    const seq = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
    const payload = Buffer.from(buf.buffer, buf.byteOffset + data, size).toString('latin1');
    return { src, dst, family, protocol: 'tcp', dport, tcpFlags, payload, sport, seq };
  }
  if (proto === PROTO_UDP) {
    if (len < p + 4) return 'truncated';
    const dport = (buf[p + 2]! << 8) | buf[p + 3]!;
    // The payload travels on only when it could be an SPA packet: knocks stay small and cheap.
    const udpLen = len >= p + 6 ? (buf[p + 4]! << 8) | buf[p + 5]! : 0;
    const size = Math.min(udpLen - 8, len - (p + 8));
    if (size < SPA_PAYLOAD_MIN || size > SPA_PAYLOAD_MAX) return { src, dst, family, protocol: 'udp', dport, tcpFlags: 0 };
    const payload = Buffer.from(buf.buffer, buf.byteOffset + p + 8, size).toString('latin1');
    return { src, dst, family, protocol: 'udp', dport, tcpFlags: 0, payload };
  }
  return 'other-proto';
}

export function isPacket(d: Decoded): d is Packet {
  return typeof d === 'object';
}
