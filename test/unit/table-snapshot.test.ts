// The watchdogs' table comparison (lib/firewall/table-snapshot.ts) on dumps built attribute by
// attribute as the kernel sends them: every kind of difference is found, none is reported for an
// intact table whatever changes as packets pass (handles, use counts, counters, element counts,
// dynamic sets' elements), and bad bytes are refused. Also the netlink attribute parser and the
// grant sets' element decoding the grant check uses.

import t from 'tap';
import { AttrError, encodeAttrs, parseAttrs, type Attr } from '../../lib/firewall/netlink-attrs.js';
import { compareSnapshots, describeDifferences, snapshotOf, staticSets, type TableDump } from '../../lib/firewall/table-snapshot.js';
import { decodeFields, grantSetElements } from '../../lib/firewall/grant-elements.js';
import { grantElementKeys } from '../../lib/firewall/commands.js';

// Attribute builders (nf_tables.h numbers).
const str = (type: number, s: string): Attr => ({ type, value: Buffer.from(`${s}\0`) });
const u32 = (type: number, n: number): Attr => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return { type, value: b }; };
const u64 = (type: number, n: number): Attr => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return { type, value: b }; };
const nest = (type: number, attrs: Attr[]): Attr => ({ type, value: encodeAttrs(attrs) });
const bin = (type: number, b: Buffer): Attr => ({ type, value: b });
const msg = (attrs: Attr[]) => encodeAttrs(attrs);

const table = (name: string, o: { flags?: number; use?: number; handle?: number } = {}) =>
  msg([str(1, name), u32(2, o.flags ?? 0), u32(3, o.use ?? 5), u64(4, o.handle ?? 1)]);
const chain = (tbl: string, name: string, o: { prio?: number; policy?: number; handle?: number; packets?: number } = {}) =>
  msg([str(1, tbl), u64(2, o.handle ?? 1), str(3, name), nest(4, [u32(1, 1), u32(2, o.prio ?? -1)]), u32(5, o.policy ?? 1), u32(6, 1), str(7, 'filter'),
    nest(8, [u64(1, o.packets ?? 0), u64(2, 0)])]);
const expr = (name: string, data: Attr[]) => nest(1, [str(1, name), nest(2, data)]);
const verdict = (code: number) => expr('immediate', [u32(1, 0), nest(2, [nest(2, [u32(1, code)])])]);
const lookup = (set: string) => expr('lookup', [str(1, set), u32(2, 1)]);
const counter = (packets: number) => expr('counter', [u64(1, 0), u64(2, packets)]);
const rule = (tbl: string, ch: string, exprs: Attr[], handle = 1) => msg([str(1, tbl), str(2, ch), u64(3, handle), nest(4, exprs)]);
const set = (tbl: string, name: string, o: { flags?: number; handle?: number; count?: number; size?: number } = {}) =>
  msg([str(1, tbl), str(2, name), u32(3, o.flags ?? 0), u32(4, 13), u32(5, 8), nest(9, [u32(1, o.size ?? 0)]), u64(16, o.handle ?? 1), u32(20, o.count ?? 0)]);
const elems = (tbl: string, name: string, keys: Buffer[]) =>
  msg([str(1, tbl), str(2, name), nest(3, keys.map((k) => nest(1, [nest(1, [bin(1, k)]), u32(3, 0), u64(5, 12345)])))]);
const obj = (tbl: string, name: string, type: number, data: Attr[], handle = 1) =>
  msg([str(1, tbl), str(2, name), u32(3, type), nest(4, data), u32(5, 2), u64(6, handle)]);

const ACCEPT = 1, DROP = 0;
const port = (proto: number, p: number) => { const b = Buffer.alloc(8); b[0] = proto; b.writeUInt16BE(p, 4); return b; };

interface Parts { tableFlags?: number; prio?: number; policy?: number; rules?: Attr[][]; guarded?: Buffer[]; extraSet?: boolean; limitRate?: number;
  handles?: number; packets?: number; count?: number; setFlags?: number; other?: boolean }

/** A grant table as Sesame installs it, with knobs for what an admin or a flood may change. */
function dump(p: Parts = {}): TableDump {
  const h = p.handles ?? 1;
  const rules = p.rules ?? [
    [expr('ct', [u32(1, 0)]), verdict(ACCEPT)],
    [lookup('guarded'), lookup('allow4'), counter(p.packets ?? 0), verdict(ACCEPT)],
    [lookup('guarded'), verdict(DROP)],
  ];
  const sets = [set('sesame', 'guarded', { flags: p.setFlags ?? 0, handle: h }), set('sesame', 'allow4', { flags: 0x10, handle: h + 1, count: p.count ?? 0 })];
  if (p.extraSet) sets.push(set('sesame', 'evil'));
  if (p.other) sets.push(set('other', 'guarded'));
  const guarded = [elems('sesame', 'guarded', p.guarded ?? [port(6, 22), port(17, 53)])];
  return {
    table: [table('sesame', { flags: p.tableFlags ?? 0, use: 3 + h, handle: h })],
    chains: [chain('sesame', 'input', { prio: p.prio, policy: p.policy, handle: h, packets: p.packets }), ...(p.other ? [chain('other', 'input', { policy: 0 })] : [])],
    sets,
    objects: [obj('sesame', 'events', 1, [u64(1, p.packets ?? 0), u64(2, 0)], h), obj('sesame', 'lim', 4, [u64(1, p.limitRate ?? 25), u64(2, 1)], h)],
    rules: [...rules.map((r, i) => rule('sesame', 'input', r, h + i)), ...(p.other ? [rule('other', 'input', [verdict(DROP)])] : [])],
    elements: new Map([['guarded', guarded]]),
  };
}

const snap = (p: Parts = {}) => snapshotOf('sesame', dump(p));
const diff = (p: Parts) => compareSnapshots(snap(), snap(p));

t.test('an intact table: no difference, whatever packets changed', async (t) => {
  t.same(diff({}), []);
  t.same(diff({ handles: 40, packets: 999, count: 17 }), [], 'handles, use counts, counters, chain counters and element counts are not compared');
  t.same(diff({ guarded: [port(17, 53), port(6, 22)] }), [], 'elements in another order');
  t.same(diff({ other: true }), [], "another table's chains, rules and sets are not this table's");
  t.same(staticSets('sesame', dump().sets), ['guarded'], 'only sets the packet path does not change have their elements compared');
});

t.test('every kind of difference is found and named', async (t) => {
  const swapped = [[expr('ct', [u32(1, 0)]), verdict(ACCEPT)], [lookup('guarded'), lookup('allow4'), counter(0), verdict(ACCEPT)], [lookup('guarded'), verdict(ACCEPT)]];
  t.same(diff({ rules: swapped }), [{ what: 'rules input', how: 'changed' }], 'a drop swapped for an accept, same count');
  const reordered = [[lookup('guarded'), verdict(DROP)], [expr('ct', [u32(1, 0)]), verdict(ACCEPT)], [lookup('guarded'), lookup('allow4'), counter(0), verdict(ACCEPT)]];
  t.same(diff({ rules: reordered }), [{ what: 'rules input', how: 'changed' }], 'the same rules in another order');
  t.same(diff({ rules: [] }), [{ what: 'rules input', how: 'missing' }], 'a flushed chain');
  t.same(diff({ guarded: [port(6, 22), port(17, 54)] }), [{ what: 'elements guarded', how: 'changed' }], 'a guarded element swapped');
  t.same(diff({ guarded: [port(6, 22)] }), [{ what: 'elements guarded', how: 'changed' }], 'a guarded element removed');
  t.same(diff({ prio: 0 }), [{ what: 'chain input', how: 'changed' }], "a base chain's priority");
  t.same(diff({ policy: 0 }), [{ what: 'chain input', how: 'changed' }], "a base chain's policy");
  t.same(diff({ tableFlags: 1 }), [{ what: 'table', how: 'changed' }], 'the table made dormant');
  t.same(diff({ extraSet: true }), [{ what: 'set evil', how: 'extra' }], 'a set Sesame did not make');
  t.same(diff({ setFlags: 0x4 }), [{ what: 'set guarded', how: 'changed' }], "a set's flags");
  t.same(diff({ limitRate: 100000 }), [{ what: 'object 4 lim', how: 'changed' }], "a limit's rate (a counter's values are not compared)");
  t.same(compareSnapshots(snap(), new Map()).map((d) => d.how), Array(snap().size).fill('missing'), 'a missing table: everything missing');
  const noTable = snapshotOf('sesame', { ...dump(), table: [] });
  t.same(compareSnapshots(snap(), noTable), [{ what: 'table', how: 'missing' }]);
});

t.test('describeDifferences: the first few and how many more', async (t) => {
  const d = [{ what: 'rules input', how: 'changed' as const }, { what: 'set evil', how: 'extra' as const }, { what: 'chain x', how: 'missing' as const }];
  t.equal(describeDifferences(d), "rules input changed, set evil not Sesame's, chain x missing");
  t.equal(describeDifferences(d, 1), 'rules input changed and 2 more');
  t.equal(describeDifferences([]), '');
});

t.test('netlink attributes: parsed strictly, re-encoded canonically', async (t) => {
  const a = [str(1, 'sesame'), u32(2, 7), nest(3, [u32(1, 1)])];
  const bytes = encodeAttrs(a);
  t.same(parseAttrs(bytes).map((x) => [x.type, x.value.toString('hex')]), a.map((x) => [x.type, x.value.toString('hex')]));
  const flagged = Buffer.from(bytes);
  flagged.writeUInt16LE(0x8003, 2 + 12 + 8); // NLA_F_NESTED on the third attribute's type
  t.equal(parseAttrs(flagged)[2]!.type, 3, 'nested and byte-order flags are masked');
  t.throws(() => parseAttrs(Buffer.from([8, 0, 1, 0, 1, 2])), AttrError, 'an attribute longer than the buffer');
  t.throws(() => parseAttrs(Buffer.from([2, 0, 1, 0])), AttrError, 'a length below the header');
  t.throws(() => parseAttrs(Buffer.from([1, 2])), AttrError, 'trailing bytes');
  t.same(parseAttrs(Buffer.alloc(0)), []);
  t.throws(() => snapshotOf('sesame', { ...dump(), rules: [Buffer.from([40, 0, 1, 0])] }), AttrError, 'a snapshot of bad bytes throws (the check then fails loudly)');
  // Fuzz: random bytes either parse into attributes that re-encode to a parse of the same, or throw AttrError.
  let seed = 7;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 16; };
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(Array.from({ length: rnd() % 40 }, () => rnd() & 0xff));
    try {
      const p = parseAttrs(b);
      t.equal(parseAttrs(encodeAttrs(p)).length, p.length);
    } catch (err) {
      if (!(err instanceof AttrError)) t.fail(`not an AttrError: ${String(err)}`);
    }
  }
});

t.test('grant set elements decoded back to the keys grantBatch writes', async (t) => {
  const v4 = Buffer.concat([Buffer.from([10, 77, 0, 2]), port(6, 2222)]);
  t.equal(decodeFields(v4, ['v4', 'proto', 'port']), '10.77.0.2 . tcp . 2222');
  const v6 = Buffer.concat([Buffer.from('fd770000000000000000000000000002', 'hex'), port(17, 53)]);
  t.equal(decodeFields(v6, ['v6', 'proto', 'port']), 'fd77::2 . udp . 53');
  t.equal(decodeFields(Buffer.concat([Buffer.from([10, 0, 0, 1]), port(1, 22)]), ['v4', 'proto', 'port']), undefined, 'not tcp or udp');
  const mapped = Buffer.concat([Buffer.from('00000000000000000000ffff0a4d4f03', 'hex'), port(6, 22)]);
  t.equal(decodeFields(mapped, ['v6', 'proto', 'port']), '::ffff:10.77.79.3 . tcp . 22', 'an IPv4-mapped element of allow6 stays IPv6');
  t.equal(decodeFields(Buffer.from([1, 2, 3]), ['v4']), undefined, 'too short');
  t.equal(decodeFields(Buffer.alloc(16), ['v4', 'proto', 'port']), undefined, 'too long for the shape');
  const els = grantSetElements('allow4', [elems('sesame', 'allow4', [v4])]);
  const want = grantElementKeys({ address: '10.77.0.2', protocol: 'tcp', port: 2222, timeout: 30 });
  t.same(want, [{ set: 'allow4', text: '10.77.0.2 . tcp . 2222' }]);
  t.ok(els.has(want[0]!.text), 'the grant is found');
  // A map element: key and data.
  const mapMsg = msg([str(1, 'sesame'), str(2, 'fwd4'), nest(3, [nest(1, [nest(1, [bin(1, v4)]), nest(2, [bin(1, Buffer.from([10, 77, 136, 5, 0x0c, 0xea, 0, 0]))])])])]);
  const nat = grantElementKeys({ address: '10.77.0.2', protocol: 'tcp', port: 2222, timeout: 5, nat: { kind: 'forward', address: '10.77.136.5', port: 3306 } });
  t.ok(grantSetElements('fwd4', [mapMsg]).has(nat.find((k) => k.set === 'fwd4')!.text), 'a forward grant with its target');
  t.same([...grantSetElements('nosuch', [mapMsg])], [], 'an unknown set yields nothing');
});
