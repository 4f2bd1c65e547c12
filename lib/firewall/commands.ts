// The nft batches of the grant table, as text, and the reading of its JSON listings. Pure: every
// value is checked (validate.ts) before it is written into a command.

import { FirewallInputError, checkAddress, checkName, checkPort, checkProto, checkTimeout, type Proto } from './validate.js';
import type { ProtoPort } from '../net/protocol.js';
import { natElements, type NatTarget } from './nat-commands.js';

export type { Proto } from './validate.js';

/** A port that only granted sources may open new connections to. */
export type Guard = ProtoPort;

export interface Grant extends ProtoPort {
  /** Canonical IPv4 or IPv6 text. */
  address: string;
  /** A NAT grant: `protocol`/`port` are the external port, forwarded to this target (IPv4). */
  nat?: NatTarget;
  /** Seconds the grant lasts (as given; from the kernel: 0 for an element without timeout). */
  timeout: number;
  /** Seconds remaining, as the kernel reports them (whole seconds, rounded down). */
  expires?: number;
}

export const ALLOW4 = 'allow4';
export const ALLOW6 = 'allow6';
export const GUARDED = 'guarded';
export const CHAIN = 'input';
/** The interfaces an instance listens on (empty: all), for other instances to read. */
export const IFACES = 'ifaces';
/** (interface, protocol, port) left to another instance that guards the port on that interface. */
export const YIELDED = 'yielded';

interface Element { set: string; key: string; data?: string; timeout: number }

function allowElement(address: string, protocol: unknown, port: unknown, timeout: number): Element {
  const a = checkAddress(address);
  const key = `${a.text} . ${checkProto(protocol)} . ${checkPort(port)}`;
  return { set: a.family === 4 ? ALLOW4 : ALLOW6, key, timeout: checkTimeout(timeout) };
}

/** A grant's elements: the allow element; for NAT the NAT elements (and, local, the local port's allow). */
function elements(g: Grant): Element[] {
  if (!g.nat) return [allowElement(g.address, g.protocol, g.port, g.timeout)];
  const nat = natElements(g.address, g, g.nat, g.timeout);
  return g.nat.kind === 'local' ? [...nat, allowElement(g.address, g.protocol, g.nat.port, g.timeout)] : nat;
}

/** A grant's elements as `set` and `key` (or `key : data`) text, as grantSetElements() reads them back. */
export function grantElementKeys(g: Grant): Array<{ set: string; text: string }> {
  return elements(g).map((e) => ({ set: e.set, text: e.data === undefined ? e.key : `${e.key} : ${e.data}` }));
}

/** Linux interface names: up to 15 bytes, no '/', whitespace or quote. */
export function checkInterface(name: unknown): string {
  if (typeof name === 'string' && /^[A-Za-z0-9_.:@+-]{1,15}$/.test(name)) return name;
  throw new FirewallInputError(`not an interface name: ${JSON.stringify(name)}`);
}

/** A port another instance guards on an interface it listens on: this instance leaves it alone there. */
export interface Yielded extends ProtoPort {
  readonly iface: string;
}

const yieldedKey = (y: Yielded) => `"${checkInterface(y.iface)}" . ${checkProto(y.protocol)} . ${checkPort(y.port)}`;

/** The batch that replaces the yielded (interface, port) pairs. */
export function yieldedBatch(table: string, yielded: readonly Yielded[]): string {
  const t = `inet ${checkName(table)}`;
  const keys = [...new Set(yielded.map(yieldedKey))];
  return `flush set ${t} ${YIELDED}
${keys.length ? `add element ${t} ${YIELDED} { ${keys.join(', ')} }
` : ''}`;
}

/** Takes pairs back from other instances' `yielded` sets (each added first, so a pair already gone is no error). */
export function unyieldBatch(items: ReadonlyArray<{ table: string; pair: Yielded }>): string {
  return items.map(({ table, pair }) => {
    const t = `inet ${checkName(table)}`;
    return `add element ${t} ${YIELDED} { ${yieldedKey(pair)} }\ndelete element ${t} ${YIELDED} { ${yieldedKey(pair)} }\n`;
  }).join('');
}

/**
 * Creates what is missing (table, sets, chain) without touching existing grants, and replaces the
 * guarded ports, the interfaces this instance listens on (`ifaces`, empty for every interface:
 * other instances read it) and the chain's rules: one atomic batch, so running it again changes
 * nothing. The guard drops on every interface but the (interface, port) pairs in `yielded`, which
 * another instance guards there itself.
 */
export function installBatch(table: string, guards: readonly Guard[], interfaces: readonly string[] = [],
  yielded: readonly Yielded[] = []): string {
  const t = `inet ${checkName(table)}`;
  const keys = [...new Set(guards.map((g) => `${checkProto(g.protocol)} . ${checkPort(g.port)}`))];
  const ifaces = [...new Set(interfaces.filter((i) => i !== 'any').map(checkInterface))];
  const match = 'meta l4proto . th dport';
  const lines = [
    `add table ${t}`,
    `add set ${t} ${ALLOW4} { type ipv4_addr . inet_proto . inet_service; flags timeout; }`,
    `add set ${t} ${ALLOW6} { type ipv6_addr . inet_proto . inet_service; flags timeout; }`,
    `add set ${t} ${GUARDED} { type inet_proto . inet_service; }`,
    `add set ${t} ${IFACES} { type ifname; }`,
    `add set ${t} ${YIELDED} { type ifname . inet_proto . inet_service; }`,
    `add chain ${t} ${CHAIN} { type filter hook input priority filter - 1; policy accept; }`,
    `flush chain ${t} ${CHAIN}`,
    `flush set ${t} ${GUARDED}`,
    `flush set ${t} ${IFACES}`,
  ];
  if (keys.length > 0) lines.push(`add element ${t} ${GUARDED} { ${keys.join(', ')} }`);
  if (interfaces.includes('any') && ifaces.length > 0) throw new FirewallInputError('interfaces: "any" with others');
  if (ifaces.length > 0) lines.push(`add element ${t} ${IFACES} { ${ifaces.map((i) => `"${i}"`).join(', ')} }`);
  lines.push(
    ...yieldedBatch(table, yielded).trimEnd().split('\n'),
    `add rule ${t} ${CHAIN} ct state established,related accept`,
    `add rule ${t} ${CHAIN} ${match} @${GUARDED} ip saddr . ${match} @${ALLOW4} accept`,
    `add rule ${t} ${CHAIN} ${match} @${GUARDED} ip6 saddr . ${match} @${ALLOW6} accept`,
    `add rule ${t} ${CHAIN} ${match} @${GUARDED} iifname . ${match} != @${YIELDED} drop`,
  );
  return lines.join('\n') + '\n';
}

/**
 * Adds or refreshes grants in one atomic batch. A second `add element` would not reset an
 * element's timer, so each element is added (so that it exists), deleted and added again with
 * its timeout: a new grant and a re-grant both end as one element with a fresh timer. The same
 * key given twice counts once, with the last timeout.
 */
export function grantBatch(table: string, grants: readonly Grant[]): string {
  const t = `inet ${checkName(table)}`;
  const byKey = new Map<string, Element>();
  for (const e of grants.flatMap(elements)) {
    byKey.delete(`${e.set} ${e.key}`);
    byKey.set(`${e.set} ${e.key}`, e);
  }
  const lines: string[] = [];
  for (const e of byKey.values()) {
    lines.push(
      `add element ${t} ${e.set} { ${e.key}${e.data === undefined ? '' : ` : ${e.data}`} }`,
      `delete element ${t} ${e.set} { ${e.key} }`,
      `add element ${t} ${e.set} { ${e.key} timeout ${e.timeout}s${e.data === undefined ? '' : ` : ${e.data}`} }`,
    );
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** Deletes the table; adding it first makes this work whether or not it exists. */
export function flushBatch(table: string): string {
  const t = `inet ${checkName(table)}`;
  return `add table ${t}\ndelete table ${t}\n`;
}

/** One set's listing (nft 1.0.6 fails a batch of several `list` commands: one per run). */
export function listSetCommand(table: string, set: typeof ALLOW4 | typeof ALLOW6): string {
  return `list set inet ${checkName(table)} ${set}\n`;
}

function protoOf(v: unknown): Proto | undefined {
  if (v === 'tcp' || v === 6) return 'tcp';
  if (v === 'udp' || v === 17) return 'udp';
  return undefined;
}

function portOf(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The grants in one set's JSON listing (`nft -j list set`). Elements that are not
 * address . tcp|udp . port (added by hand) are left out.
 */
export function parseSetListing(json: string): Grant[] {
  const doc = JSON.parse(json) as { nftables?: unknown };
  if (!Array.isArray(doc.nftables)) throw new Error('nft listing: no "nftables" array');
  const grants: Grant[] = [];
  for (const item of doc.nftables as Array<Record<string, unknown>>) {
    const set = item?.['set'] as { elem?: unknown } | undefined;
    if (!set || !Array.isArray(set.elem)) continue;
    for (const raw of set.elem as unknown[]) {
      const wrapped = (raw as { elem?: Record<string, unknown> })?.elem;
      const body = wrapped ?? (raw as Record<string, unknown>);
      const val = (wrapped ? wrapped['val'] : raw) as { concat?: unknown } | undefined;
      const parts = val?.concat;
      if (!Array.isArray(parts) || parts.length !== 3) continue;
      let address: string;
      try { address = checkAddress(parts[0]).text; } catch { continue; }
      const proto = protoOf(parts[1]);
      const port = portOf(parts[2]);
      if (proto === undefined || port === undefined) continue;
      const timeout = typeof body['timeout'] === 'number' ? body['timeout'] : 0;
      const g: Grant = { address, protocol: proto, port, timeout };
      if (typeof body['expires'] === 'number') g.expires = body['expires'];
      grants.push(g);
    }
  }
  return grants;
}

/** The chain's listing, to see that its rules are all there (`nft -j list chain`). */
export function listChainCommand(table: string): string {
  return `list chain inet ${checkName(table)} ${CHAIN}\n`;
}

/** The guarded ports' listing (`nft -j list set`). */
export function listGuardedCommand(table: string): string {
  return `list set inet ${checkName(table)} ${GUARDED}\n`;
}

/** The rules installBatch puts in the chain. */
export const RULE_COUNT = 4;

function nftItems(json: string): Array<Record<string, unknown>> {
  const doc = JSON.parse(json) as { nftables?: unknown };
  if (!Array.isArray(doc.nftables)) throw new Error('nft listing: no "nftables" array');
  return doc.nftables as Array<Record<string, unknown>>;
}

/** How many rules a chain listing holds. */
export function countRules(json: string): number {
  return nftItems(json).filter((item) => item !== null && typeof item === 'object' && 'rule' in item).length;
}

/** How many elements a set listing holds (0 for an empty set, whose listing has no "elem"). */
export function countElements(json: string): number {
  let n = 0;
  for (const item of nftItems(json)) {
    const set = item?.['set'] as { elem?: unknown } | undefined;
    if (set && Array.isArray(set.elem)) n += set.elem.length;
  }
  return n;
}
