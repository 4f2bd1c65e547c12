// The access part of an SPA message, "<allow_ip>,<proto>/<port>[,…]", and the proto/port lists
// of the config and the client. Strict: only dotted-quad IPv4 (fwknop sends nothing else), tcp or
// udp, ports 1..65535 in plain decimal. Anything that could reach a shell is checked here.

import type { Protocol, ProtoPort } from '../net/protocol.js';
import { failure, type Result } from '../errors/result.js';
import { ipv4Number } from '../net/ipv4.js';

export type SpaProto = Protocol;

export type { ProtoPort } from '../net/protocol.js';
export { formatProtoPort } from '../net/protocol.js';

const PORT = /^[1-9][0-9]{0,4}$/;

/** Dotted-quad IPv4, four decimal octets without leading zeros (no octal readings). */
export function isDottedQuad(s: string): boolean {
  return s.length >= 7 && s.length <= 15 && ipv4Number(s) !== undefined;
}

/** `tcp/22` → {tcp, 22}; undefined for anything else (icmp, none/0, 0, 65536, spaces). */
export function parseProtoPort(s: string): ProtoPort | undefined {
  const slash = s.indexOf('/');
  if (slash === -1) return undefined;
  const protocol = s.slice(0, slash);
  const port = s.slice(slash + 1);
  if ((protocol !== 'tcp' && protocol !== 'udp') || !PORT.test(port)) return undefined;
  const n = Number(port);
  return n <= 65535 ? { protocol, port: n } : undefined;
}


/** A comma list such as `tcp/22, udp/1194` (config and command line): spaces around items allowed. */
/** The list, or the failing item as `error`. */
export function parsePortList(text: string): Result<{ ports: ProtoPort[] }> {
  const items = text.split(',').map((s) => s.trim());
  const ports: ProtoPort[] = [];
  for (const item of items) {
    const p = parseProtoPort(item.toLowerCase());
    if (!p) return failure(item);
    if (!ports.some((q) => q.protocol === p.protocol && q.port === p.port)) ports.push(p);
  }
  return ports.length ? { ok: true, ports } : failure(text);
}

export interface AccessRequest {
  readonly allowIp: string;
  readonly ports: readonly ProtoPort[];
}

/** Decoded message of an access type: no spaces, no empty items, at least one proto/port. */
export function parseAccessMessage(msg: string): AccessRequest | undefined {
  const parts = msg.split(',');
  if (parts.length < 2 || !isDottedQuad(parts[0]!)) return undefined;
  const ports: ProtoPort[] = [];
  for (const item of parts.slice(1)) {
    const p = parseProtoPort(item);
    if (!p) return undefined;
    ports.push(p);
  }
  return { allowIp: parts[0]!, ports };
}

/** Decoded message of a command type: "<allow_ip>,<command>" (decoded for completeness; never run). */
export function parseCommandMessage(msg: string): { allowIp: string; command: string } | undefined {
  const comma = msg.indexOf(',');
  if (comma === -1) return undefined;
  const allowIp = msg.slice(0, comma);
  const command = msg.slice(comma + 1);
  return isDottedQuad(allowIp) && command.length > 0 ? { allowIp, command } : undefined;
}

/** NAT access "<host>,<port>": one comma, a host of at most 70 harmless characters, a port. */
export function parseNatAccess(s: string): { host: string; port: number } | undefined {
  const parts = s.split(',');
  if (parts.length !== 2) return undefined;
  const [host, port] = parts as [string, string];
  if (host.length === 0 || host.length > 70 || /[ /?"'\\]/.test(host)) return undefined;
  if (!PORT.test(port) || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}
