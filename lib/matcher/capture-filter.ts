// The BPF filter from the doors, shaped like knockd's (docs/knockd-0.8.md §3): only door ports, each
// door's TCP flags, and local (or Target) destinations reach user space. The matcher checks the
// same conditions again, so the filter is an optimisation, never the only guard.

import { TCP_FLAG_ORDER, TCP_FLAG_BITS, type KnockStep, type Protocol, type TcpFlagRule } from '../config/types.js';

/** A span of ports any of which is a knock (a TOTP door's code pair). */
export interface PortRange {
  readonly protocol: Protocol;
  readonly first: number;
  readonly last: number;
}

export interface FilterDoor {
  readonly sequence: readonly KnockStep[];
  readonly ranges?: readonly PortRange[];
  readonly tcpFlags: TcpFlagRule;
  readonly target: string | undefined;
}

const PCAP_FLAG: Record<string, string> = {
  FIN: 'tcp-fin', SYN: 'tcp-syn', RST: 'tcp-rst', PSH: 'tcp-push', ACK: 'tcp-ack', URG: 'tcp-urg',
};

function flagTests(rule: TcpFlagRule, family: 4 | 6): string {
  // BPF cannot walk IPv6 extension headers: the flag byte is read at the fixed offset, as knockd does.
  const field = family === 4 ? 'tcp[tcpflags]' : 'ip6[13+40]';
  let out = '';
  for (const name of TCP_FLAG_ORDER) {
    const bit = TCP_FLAG_BITS[name];
    if (rule.set & bit) out += ` and ${field} & ${PCAP_FLAG[name]} != 0`;
    else if (rule.clear & bit) out += ` and ${field} & ${PCAP_FLAG[name]} == 0`;
  }
  return out;
}

/** `(tcp dst port 1 or 2 or tcp dst portrange 40000-40099)`, or '' when the door has no such port. */
function portTests(d: FilterDoor, protocol: Protocol): string {
  const ports = d.sequence.filter((s) => s.protocol === protocol).map((s) => s.port);
  const tests = ports.length ? [`${protocol} dst port ${ports.join(' or ')}`] : [];
  for (const r of d.ranges ?? []) if (r.protocol === protocol) tests.push(`${protocol} dst portrange ${r.first}-${r.last}`);
  return tests.length ? `(${tests.join(' or ')})` : '';
}

function doorFilter(d: FilterDoor, hosts: readonly string[], family: 4 | 6): string | undefined {
  if (hosts.length === 0) return undefined;
  const parts: string[] = [];
  const tcp = portTests(d, 'tcp');
  const udp = portTests(d, 'udp');
  if (tcp) parts.push(`(${tcp}${flagTests(d.tcpFlags, family)})`);
  if (udp) parts.push(udp);
  return `((${hosts.map((h) => `dst host ${h}`).join(' or ')}) and (${parts.join(' or ')}))`;
}

export interface FilterInput {
  readonly doors: readonly FilterDoor[];
  /** Local addresses, canonical text. */
  readonly local: readonly string[];
  readonly onlyIPv4: boolean;
}

/** A filter that lets nothing through, for when no door can match (an empty filter would pass all). */
export const MATCH_NOTHING = 'less 1';

/** Beyond this many door × family clauses the filter is one port list for all doors. */
export const MAX_PRECISE_CLAUSES = 64;
/** Beyond this many distinct ports even the port list is too big for BPF: TCP and UDP pass. */
export const MAX_FILTER_PORTS = 256;

// IPv6 next-header values of extension headers the decoder walks (hop-by-hop, routing, fragment,
// AH, destination options): BPF reads ports at a fixed offset, so such packets pass to user space.
const V6_EXT = [0, 43, 44, 51, 60];

const hostList = (hosts: readonly string[]) => `(${hosts.map((h) => `dst host ${h}`).join(' or ')})`;
const v6ExtClause = (hosts: readonly string[]) =>
  `(ip6 and ${hostList(hosts)} and (${V6_EXT.map((n) => `ip6[6] == ${n}`).join(' or ')}))`;

/**
 * One clause for all doors: any door port to any local or Target address. Large configs (4,000
 * doors made libpcap run out of memory, 500 took 15 s to compile) stay small and fast; the
 * matcher checks flags and per-door destinations itself.
 */
function unionFilter(doors: readonly FilterDoor[], hosts: readonly string[]): string {
  const tcp = new Set<number>();
  const udp = new Set<number>();
  for (const d of doors) for (const s of d.sequence) (s.protocol === 'tcp' ? tcp : udp).add(s.port);
  const ranges = new Set<string>();
  for (const d of doors) for (const r of d.ranges ?? []) ranges.add(`${r.protocol} dst portrange ${r.first}-${r.last}`);
  const ports: string[] = [];
  if (tcp.size + udp.size + ranges.size > MAX_FILTER_PORTS) {
    ports.push('tcp', 'udp');
  } else {
    if (tcp.size) ports.push(`(tcp dst port ${[...tcp].join(' or ')})`);
    if (udp.size) ports.push(`(udp dst port ${[...udp].join(' or ')})`);
    for (const r of ranges) ports.push(`(${r})`);
  }
  return `(${hostList(hosts)} and (${ports.join(' or ')}))`;
}

export function buildFilter({ doors, local, onlyIPv4 }: FilterInput): string {
  const v4 = local.filter((a) => !a.includes(':'));
  const v6 = onlyIPv4 ? [] : local.filter((a) => a.includes(':'));
  const parts: string[] = [];
  const allHosts = new Set<string>();
  for (const d of doors) {
    for (const family of [4, 6] as const) {
      const hosts = d.target !== undefined
        ? ((d.target.includes(':') ? 6 : 4) === family && !(family === 6 && onlyIPv4) ? [d.target] : [])
        : family === 4 ? v4 : v6;
      const f = doorFilter(d, hosts, family);
      if (f) { parts.push(f); for (const h of hosts) allHosts.add(h); }
    }
  }
  if (parts.length === 0) return MATCH_NOTHING;
  const hosts = [...allHosts];
  const main = parts.length <= MAX_PRECISE_CLAUSES ? parts.join(' or ') : unionFilter(doors, hosts);
  const v6Hosts = hosts.filter((h) => h.includes(':'));
  return v6Hosts.length ? `${main} or ${v6ExtClause(v6Hosts)}` : main;
}
