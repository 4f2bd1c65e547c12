// Several Sesame instances in one network namespace, each with its own grant table (`sesame`,
// `sesame_NAME`). A drop rule in one table would block the grants of another, so an instance
// records the interfaces it listens on (set `ifaces`, empty: all) and leaves to another instance
// the (interface, port) pairs that one guards where it listens (set `yielded`). Two instances that
// would guard one port on one interface cannot both be right: the second refuses to start. Pure.

import { ELEM, attrString, elementValue, parseAttrs, setElements } from './netlink-attrs.js';
import { decodeFields } from './grant-elements.js';
import { formatProtoPort, type ProtoPort } from '../net/protocol.js';
import type { Guard, Yielded } from './commands.js';

/** One instance's guard as its table shows it. */
export interface InstanceGuard {
  readonly table: string;
  /** Interfaces it listens on; empty: every interface. */
  readonly ifaces: readonly string[];
  readonly guards: readonly Guard[];
  /** What it leaves to other instances (read from its table; not needed of one's own). */
  readonly yielded?: readonly Yielded[];
}

/** Sesame's grant tables: `sesame` and `sesame_NAME` (kernel matching's are `knock_sesame...`). */
export const isGrantTable = (name: string) => /^sesame(_[A-Za-z0-9_]{1,56})?$/.test(name);

const TABLE_NAME = 1;
/** The names of the tables in a table dump. */
export function tableNames(messages: readonly Buffer[]): string[] {
  return messages.map((m) => attrString(parseAttrs(m), TABLE_NAME)).filter((n): n is string => n !== undefined);
}

/** The element keys of a set's dump. */
function keys(messages: readonly Buffer[]): Buffer[] {
  return setElements(messages).map((e) => elementValue(e, ELEM.key)).filter((k): k is Buffer => k !== undefined);
}

/** The interface names of an `ifaces` dump. */
export function ifaceElements(messages: readonly Buffer[]): string[] {
  return keys(messages).map((k) => k.subarray(0, k.indexOf(0) < 0 ? k.length : k.indexOf(0)).toString('latin1')).filter((n) => n !== '');
}

/** The (interface, port) pairs of a `yielded` dump. */
export function yieldedElements(messages: readonly Buffer[]): Yielded[] {
  const out: Yielded[] = [];
  for (const k of keys(messages)) {
    if (k.length < 24) continue;
    const name = k.subarray(0, 16);
    const iface = name.subarray(0, name.indexOf(0) < 0 ? 16 : name.indexOf(0)).toString('latin1');
    const text = decodeFields(k.subarray(16), ['proto', 'port']);
    const m = text && /^(tcp|udp) \. (\d+)$/.exec(text);
    if (iface !== '' && m) out.push({ iface, protocol: m[1] as Guard['protocol'], port: Number(m[2]) });
  }
  return out;
}

/** The ports of a `guarded` dump. */
export function guardElements(messages: readonly Buffer[]): Guard[] {
  const out: Guard[] = [];
  for (const k of keys(messages)) {
    const text = decodeFields(k, ['proto', 'port']);
    const m = text && /^(tcp|udp) \. (\d+)$/.exec(text);
    if (m) out.push({ protocol: m[1] as Guard['protocol'], port: Number(m[2]) });
  }
  return out;
}

const samePort = (a: ProtoPort, b: ProtoPort) => a.protocol === b.protocol && a.port === b.port;

export interface Conflict {
  /** The other instance's table. */
  readonly table: string;
  readonly port: Guard;
  /** The interface both would guard it on (`any`: one of them listens on all). */
  readonly iface: string;
}

/** Ports `own` would guard where another instance already guards them. */
export function conflicts(own: InstanceGuard, others: readonly InstanceGuard[]): Conflict[] {
  const out: Conflict[] = [];
  for (const o of others) {
    for (const g of own.guards) {
      if (!o.guards.some((p) => samePort(p, g))) continue;
      if (own.ifaces.length === 0 || o.ifaces.length === 0) {
        out.push({ table: o.table, port: g, iface: own.ifaces.length === 0 ? o.ifaces[0] ?? 'any' : own.ifaces[0]! });
        continue;
      }
      const shared = own.ifaces.find((i) => o.ifaces.includes(i));
      if (shared !== undefined) out.push({ table: o.table, port: g, iface: shared });
    }
  }
  return out;
}

/** The (interface, port) pairs `own` leaves to others: ports both guard, on the others' interfaces. */
export function yieldedTo(own: InstanceGuard, others: readonly InstanceGuard[]): Yielded[] {
  const out: Yielded[] = [];
  const seen = new Set<string>();
  for (const o of others) {
    for (const iface of o.ifaces) {
      if (own.ifaces.includes(iface)) continue; // a conflict: never yield one's own interface
      for (const g of own.guards) {
        if (!o.guards.some((p) => samePort(p, g))) continue;
        const k = `${iface} ${formatProtoPort(g)}`;
        if (!seen.has(k)) { seen.add(k); out.push({ iface, protocol: g.protocol, port: g.port }); }
      }
    }
  }
  return out;
}

/** A start error's account of a conflict. */
export function describeConflict(c: Conflict): string {
  const where = c.iface === 'any' ? 'every interface' : `interface ${c.iface}`;
  return `${formatProtoPort(c.port)} on ${where} is already guarded by table inet ${c.table}`;
}

/**
 * The pairs other instances leave to `own` that it no longer guards (its new guard, or none when
 * its table goes): taken back in the same transaction as `own`'s change, so that no port is left
 * unguarded on an interface until the others' next check.
 */
export function unyielded(own: InstanceGuard, others: readonly InstanceGuard[]): Array<{ table: string; pair: Yielded }> {
  const out: Array<{ table: string; pair: Yielded }> = [];
  // A pair a third instance guards on that interface is left to it, not to `own`.
  const third = (o: InstanceGuard, y: Yielded) =>
    others.some((z) => z !== o && z.ifaces.includes(y.iface) && z.guards.some((g) => samePort(g, y)));
  for (const o of others) {
    for (const y of o.yielded ?? []) {
      if (own.ifaces.includes(y.iface) && !own.guards.some((g) => samePort(g, y)) && !third(o, y)) out.push({ table: o.table, pair: y });
    }
  }
  return out;
}
