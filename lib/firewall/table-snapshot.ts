// What one of Sesame's nftables tables holds, as a digest per object, and what differs between two
// such snapshots. The watchdogs take a snapshot right after Sesame installed a table and compare
// the kernel's table with it every second: a stale table reloaded from a saved ruleset, a rule
// swapped (same count, other verdict), a guarded element replaced, a chain's priority or policy
// changed, a table made dormant, all show as differences. Pure (the dump comes in as bytes).
//
// What is compared: the table's flags; every chain (type, hook, priority, policy); every rule's
// expressions, in order, per chain; every set and map (types, flags, size, timeout); the elements
// of sets the packet path does not change (no `timeout`/`dynamic` flag: guarded ports, local
// addresses, anonymous sets of rules); named objects (a counter's or quota's values left out).
// Not compared: handles, use counts, counter values, and the elements of dynamic sets (knock
// attempts, grants: the grant table checks those against its live grants).

import { createHash } from 'node:crypto';
import { ELEM, parseAttrs, attrString, attrU32, encodeAttrs, setElements, type Attr } from './netlink-attrs.js';

/** The raw messages of one table, as nftables-napi's dump() returns them. */
export interface TableDump {
  readonly table: readonly Buffer[];
  readonly chains: readonly Buffer[];
  readonly sets: readonly Buffer[];
  readonly objects: readonly Buffer[];
  readonly rules: readonly Buffer[];
  /** Elements of the sets staticSets() names. */
  readonly elements: ReadonlyMap<string, readonly Buffer[]>;
}

/** Object key (`chain input`, `rules input`, `set guarded`, `elements guarded`, ...) → digest. */
export type Snapshot = ReadonlyMap<string, string>;

// linux/netfilter/nf_tables.h. What is compared is listed (newer kernels add attributes that change
// as the table is used, such as a set's element count).
const TABLE = { name: 1, kept: [1, 2, 6] }; // name, flags, userdata
const CHAIN = { table: 1, name: 3, kept: [1, 3, 4, 5, 7, 10, 12] }; // table, name, hook, policy, type, flags, userdata
const RULE = { table: 1, chain: 2, expressions: 4, kept: [1, 2, 4, 5, 7] }; // table, chain, expressions, compat, userdata
// table, name, flags, key type and length, data type and length, policy, desc (size), timeout,
// gc interval, userdata, object type, expressions
const SET = { table: 1, name: 2, flags: 3, kept: [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 17, 18] };
const OBJ = { table: 1, name: 2, type: 3, data: 4, kept: [1, 2, 3, 4, 8] }; // table, name, type, data, userdata
const LIST_ELEM = 1;
const EXPR = { name: 1, data: 2 };
const SET_F = { anonymous: 0x1, timeout: 0x10, eval: 0x20 };
/** Objects whose data changes as packets pass: counter, quota, connlimit. */
const LIVE_OBJECTS = new Set([1, 2, 5]);
/** Rule expressions whose data changes as packets pass. */
const LIVE_EXPRS = new Set(['counter', 'quota', 'last', 'connlimit']);

const digest = (b: Buffer | string) => createHash('sha256').update(b).digest('hex').slice(0, 32);
const only = (attrs: readonly Attr[], keep: readonly number[]) => attrs.filter((a) => keep.includes(a.type));

/** Only the messages of `table` (a chain dump carries every table's chains). */
function ofTable(messages: readonly Buffer[], tableType: number, table: string): Attr[][] {
  return messages.map(parseAttrs).filter((a) => attrString(a, tableType) === table);
}

/** A rule's expressions with the values of live ones (counters, quotas) left out. */
function ruleExpressions(value: Buffer): Buffer {
  const exprs = parseAttrs(value).filter((e) => e.type === LIST_ELEM).map((e) => {
    const parts = parseAttrs(e.value);
    const name = attrString(parts, EXPR.name) ?? '';
    return { type: LIST_ELEM, value: encodeAttrs(LIVE_EXPRS.has(name) ? only(parts, [EXPR.name]) : parts) };
  });
  return encodeAttrs(exprs);
}

/** The sets whose elements are part of a snapshot: those the packet path does not change. */
export function staticSets(table: string, sets: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const s of ofTable(sets, SET.table, table)) {
    const flags = attrU32(s, SET.flags) ?? 0;
    const name = attrString(s, SET.name);
    if (name !== undefined && (flags & (SET_F.timeout | SET_F.eval)) === 0) out.push(name);
  }
  return out;
}

/** One digest over a set's elements, in any order the kernel lists them. */
function elementsDigest(messages: readonly Buffer[]): string {
  const kept: number[] = [ELEM.key, ELEM.data, ELEM.flags, ELEM.objref, ELEM.keyEnd];
  const elems = setElements(messages).map((e) => encodeAttrs(e.filter((a) => kept.includes(a.type))).toString('hex'));
  elems.sort();
  return `${elems.length} elements ${digest(elems.join(','))}`;
}

/** The snapshot of `table` in `dump`. */
export function snapshotOf(table: string, dump: TableDump): Snapshot {
  const snap = new Map<string, string>();
  for (const t of dump.table.map(parseAttrs).filter((a) => attrString(a, TABLE.name) === table)) {
    snap.set('table', digest(encodeAttrs(only(t, TABLE.kept))));
  }
  for (const c of ofTable(dump.chains, CHAIN.table, table)) {
    snap.set(`chain ${attrString(c, CHAIN.name)}`, digest(encodeAttrs(only(c, CHAIN.kept))));
  }
  const rules = new Map<string, string[]>();
  for (const r of ofTable(dump.rules, RULE.table, table)) {
    const chain = attrString(r, RULE.chain) ?? '';
    const kept = only(r, RULE.kept).map((a) => (a.type === RULE.expressions ? { type: a.type, value: ruleExpressions(a.value) } : a));
    rules.set(chain, [...(rules.get(chain) ?? []), encodeAttrs(kept).toString('hex')]);
  }
  for (const [chain, list] of rules) snap.set(`rules ${chain}`, `${list.length} rules ${digest(list.join(','))}`);
  for (const s of ofTable(dump.sets, SET.table, table)) {
    const name = attrString(s, SET.name) ?? '';
    // Anonymous sets are named by the kernel (__set0): their rules name them, their elements matter.
    snap.set(`set ${name}`, digest(encodeAttrs(only(s, SET.kept))));
  }
  for (const [name, messages] of dump.elements) snap.set(`elements ${name}`, elementsDigest(messages));
  for (const o of ofTable(dump.objects, OBJ.table, table)) {
    const type = attrU32(o, OBJ.type) ?? 0;
    const keep = LIVE_OBJECTS.has(type) ? OBJ.kept.filter((k) => k !== OBJ.data) : OBJ.kept;
    snap.set(`object ${type} ${attrString(o, OBJ.name)}`, digest(encodeAttrs(only(o, keep))));
  }
  return snap;
}

export interface Difference {
  /** The object's key, e.g. `rules input`, `elements guarded`, `chain d0v1_4`. */
  readonly what: string;
  readonly how: 'missing' | 'extra' | 'changed';
}

/** What `actual` has that `expected` has not, lacks, or holds otherwise; none for an intact table. */
export function compareSnapshots(expected: Snapshot, actual: Snapshot): Difference[] {
  const out: Difference[] = [];
  for (const [k, v] of expected) {
    const a = actual.get(k);
    if (a === undefined) out.push({ what: k, how: 'missing' });
    else if (a !== v) out.push({ what: k, how: 'changed' });
  }
  for (const k of actual.keys()) if (!expected.has(k)) out.push({ what: k, how: 'extra' });
  return out;
}

/** A log line's account of differences: the first few, and how many more. */
export function describeDifferences(diffs: readonly Difference[], most = 4): string {
  const words = { missing: 'missing', extra: 'not Sesame\'s', changed: 'changed' };
  const shown = diffs.slice(0, most).map((d) => `${d.what} ${words[d.how]}`);
  return diffs.length > most ? `${shown.join(', ')} and ${diffs.length - most} more` : shown.join(', ');
}
