// Networks of either family (lib/config/cidr.ts): every accepted and refused form, IPv4-mapped
// addresses read as IPv4, /0 and the prefix boundaries, and inNetwork against an independent
// model (BigInt arithmetic on the address as one integer) on random addresses and prefixes.

import t from 'tap';
import { formatNetwork, inNetwork, parseAddress, parseNetwork, type Network } from '../../lib/config/cidr.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.CIDR_FUZZ_SEED ? Number(process.env.CIDR_FUZZ_SEED) >>> 0 : 0xc1d4_0001;
t.comment(`cidr fuzz seed ${SEED}`);

/** The model: an address as one BigInt, built from its bytes. */
const big = (bytes: Uint8Array) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
function modelIn(addr: Uint8Array, fam: 4 | 6, net: { family: 4 | 6; bytes: Uint8Array; prefix: number }): boolean {
  if (fam !== net.family) return false;
  const shift = BigInt((fam === 4 ? 32 : 128) - net.prefix);
  return big(addr) >> shift === big(net.bytes) >> shift;
}
/** The WHATWG URL parser's canonical IPv6 text (RFC 5952): an implementation we did not write. */
const urlCanonical = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);
const fullV6 = (b: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');

t.test('parseAddress: IPv4 dotted quads only, canonical', async (t) => {
  t.same(parseAddress('10.0.0.1'), { family: 4, bytes: new Uint8Array([10, 0, 0, 1]), text: '10.0.0.1' });
  t.equal(parseAddress('0.0.0.0')?.text, '0.0.0.0');
  t.equal(parseAddress('255.255.255.255')?.text, '255.255.255.255');
  for (const bad of ['010.0.0.1', '10.0.0.01', '10.0.1', '10.1', '167772161', '0x0a.0.0.1', '10.0.0.256', '10.0.0.1.', '.10.0.0.1',
    ' 10.0.0.1', '10.0.0.1 ', '10.0.0.-1', '1e1.0.0.1', '10.0.0.1/32', '', 'localhost', '10..0.1', '10.0.0.1\n']) {
    t.equal(parseAddress(bad), undefined, JSON.stringify(bad));
  }
});

t.test('parseAddress: IPv6 in every form, RFC 5952 text; zones refused', async (t) => {
  const cases: [string, string][] = [
    ['::', '::'], ['::1', '::1'], ['FD77::1', 'fd77::1'], ['fd77:0:0:0:0:0:0:1', 'fd77::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['1::', '1::'], ['1:0:0:0:0:0:0:0', '1::'], ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'], ['::10.0.0.1', '::a00:1'],
  ];
  for (const [input, text] of cases) {
    const a = parseAddress(input);
    t.equal(a?.family, 6, input);
    t.equal(a?.text, text, input);
    t.equal(a?.bytes.length, 16);
  }
  for (const bad of ['fe80::1%eth0', 'fe80::1%1', '::1%', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '12345::', 'g::1', '[::1]', '::1/128', '1:2:3:4:5:6:7', ':1:2:3:4:5:6:7']) {
    t.equal(parseAddress(bad), undefined, JSON.stringify(bad));
  }
});

t.test('parseAddress: IPv4-mapped is read as the IPv4 address; other embeddings are not', async (t) => {
  for (const m of ['::ffff:10.1.2.3', '::FFFF:10.1.2.3', '::ffff:a01:203', '0:0:0:0:0:ffff:10.1.2.3', '0000:0000:0000:0000:0000:ffff:0a01:0203']) {
    t.same(parseAddress(m), { family: 4, bytes: new Uint8Array([10, 1, 2, 3]), text: '10.1.2.3' }, m);
  }
  t.equal(parseAddress('::ffff:255.255.255.255')?.text, '255.255.255.255', 'high bit of the first octet (no sign trouble)');
  t.equal(parseAddress('::ffff:128.0.0.1')?.text, '128.0.0.1');
  t.equal(parseAddress('::fffe:10.1.2.3')?.family, 6);
  t.equal(parseAddress('1::ffff:10.1.2.3')?.family, 6);
  t.equal(parseAddress('::ffff:0:10.1.2.3')?.family, 6, 'IPv4-translated (::ffff:0:0/96) is not mapped');
});

t.test('parseNetwork: every form', async (t) => {
  const ok: [string, 4 | 6, number, string][] = [
    ['10.0.0.0/8', 4, 8, '10.0.0.0/8'], ['10.0.0.7', 4, 32, '10.0.0.7'], ['10.0.0.7/32', 4, 32, '10.0.0.7'],
    ['0.0.0.0/0', 4, 0, '0.0.0.0/0'], ['192.168.1.128/25', 4, 25, '192.168.1.128/25'], ['172.16.0.0/12', 4, 12, '172.16.0.0/12'],
    ['::/0', 6, 0, '::/0'], ['fd00::/8', 6, 8, 'fd00::/8'], ['FD77:0::/64', 6, 64, 'fd77::/64'], ['fd77::1', 6, 128, 'fd77::1'],
    ['fd77::1/128', 6, 128, 'fd77::1'], ['2001:db8::/32', 6, 32, '2001:db8::/32'], ['2001:db8::8000:0/97', 6, 97, '2001:db8::8000:0/97'],
    ['::ffff:10.0.0.0/8', 4, 8, '10.0.0.0/8'], ['::ffff:10.0.0.1', 4, 32, '10.0.0.1'],
  ];
  for (const [text, family, prefix, formatted] of ok) {
    const n = parseNetwork(text);
    t.ok(n, text);
    t.equal(n?.family, family, `${text} family`);
    t.equal(n?.prefix, prefix, `${text} prefix`);
    t.equal(n && formatNetwork(n), formatted, `${text} formatted`);
    t.same(parseNetwork(formatted), n, `${formatted} parses back the same`);
  }
});

t.test('parseNetwork: refused forms (host bits, zones, bad lengths)', async (t) => {
  for (const bad of [
    '10.0.0.1/8', '11.0.0.0/7', '192.168.1.1/31', '192.168.1.129/25', '0.0.0.1/0', '128.0.0.0/0', 'fd77::1/64', 'fd77::/15',
    '::1/127', '2001:db8::1/127', '8000::/0',
    '10.0.0.0/33', 'fd77::/129', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/+8', '10.0.0.0/-1', '10.0.0.0/8.0', '10.0.0.0/ 8', '10.0.0.0 /8',
    '10.0.0.0/8/8', '10.0.0.0/0x8', '10.0.0.0/1000', '10.0.0.0/0008', '/8', '', '10/8', '10.0/16', '010.0.0.0/8',
    'fe80::%eth0/64', 'fe80::1%eth0', '::ffff:10.0.0.0/104', '::ffff:10.0.0.0/33', '10.0.0.0/8,', 'any', '*',
  ]) {
    t.equal(parseNetwork(bad), undefined, JSON.stringify(bad));
  }
});

t.test('inNetwork: boundaries, /0, families never mix', async (t) => {
  const n = (s: string) => parseNetwork(s)!;
  const a = (s: string) => parseAddress(s)!;
  t.ok(inNetwork(a('10.255.255.255'), n('10.0.0.0/8')));
  t.notOk(inNetwork(a('11.0.0.0'), n('10.0.0.0/8')));
  t.notOk(inNetwork(a('9.255.255.255'), n('10.0.0.0/8')));
  t.ok(inNetwork(a('192.168.1.128'), n('192.168.1.128/25')));
  t.ok(inNetwork(a('192.168.1.255'), n('192.168.1.128/25')));
  t.notOk(inNetwork(a('192.168.1.127'), n('192.168.1.128/25')));
  t.ok(inNetwork(a('172.31.255.255'), n('172.16.0.0/12')));
  t.notOk(inNetwork(a('172.32.0.0'), n('172.16.0.0/12')));
  t.ok(inNetwork(a('10.0.0.7'), n('10.0.0.7')));
  t.notOk(inNetwork(a('10.0.0.6'), n('10.0.0.7')));
  t.ok(inNetwork(a('255.255.255.255'), n('0.0.0.0/0')));
  t.ok(inNetwork(a('0.0.0.0'), n('0.0.0.0/0')));
  t.notOk(inNetwork(a('::'), n('0.0.0.0/0')), 'an IPv6 address is in no IPv4 network');
  t.notOk(inNetwork(a('10.0.0.1'), n('::/0')), 'an IPv4 address is in no IPv6 network');
  t.ok(inNetwork(a('::ffff:10.0.0.1'), n('10.0.0.0/8')), 'a mapped address is in its IPv4 network');
  t.notOk(inNetwork(a('::ffff:10.0.0.1'), n('::/0')), 'and in no IPv6 one');
  t.ok(inNetwork(a('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), n('::/0')));
  t.ok(inNetwork(a('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), n('2001:db8::/32')));
  t.notOk(inNetwork(a('2001:db9::'), n('2001:db8::/32')));
  t.notOk(inNetwork(a('2001:db8::7fff:ffff'), n('2001:db8::8000:0/97')), 'below the /97');
  t.ok(inNetwork(a('2001:db8::ffff:ffff'), n('2001:db8::8000:0/97')), 'its last address');
  t.ok(inNetwork(a('2001:db8::8000:0'), n('2001:db8::8000:0/97')));
  t.notOk(inNetwork(a('2001:db8::ffff:ffff:ffff'), n('2001:db8::8000:0/97')));
});

t.test('fuzz: inNetwork and parseNetwork against the BigInt model; text against the URL parser', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  let checked = 0, members = 0, refusedHostBits = 0;
  for (let i = 0; i < 20_000 && Date.now() - started < 20_000; i++) {
    const fam: 4 | 6 = rng.chance(0.5) ? 4 : 6;
    const bits = fam === 4 ? 32 : 128;
    const netBytes = new Uint8Array(rng.bytes(bits / 8));
    const prefix = rng.range(0, bits);
    // Clear the host bits with the model's arithmetic, so a network in canonical form results.
    const shift = BigInt(bits - prefix);
    const masked = (big(netBytes) >> shift) << shift;
    const hex = masked.toString(16).padStart(bits / 4, '0');
    const mbytes = new Uint8Array(Buffer.from(hex, 'hex'));
    const text = fam === 4 ? mbytes.join('.') : fullV6(mbytes);
    // An IPv6 network whose first 96 bits are ::ffff: reads as IPv4: skip those (rare by chance).
    const mapped = fam === 6 && mbytes.subarray(0, 12).every((b, j) => b === (j >= 10 ? 0xff : 0));
    if (mapped) continue;
    const net = parseNetwork(`${text}/${prefix}`);
    if (!net) { t.fail(`refused ${text}/${prefix}`); break; }
    if (fam === 6 && formatNetwork(net).split('/')[0] !== urlCanonical(text)) { t.fail(`not canonical: ${text}`); break; }
    // With host bits set (when any exist), it is refused.
    if (masked !== big(netBytes)) {
      refusedHostBits++;
      const raw = fam === 4 ? netBytes.join('.') : fullV6(netBytes);
      if (parseNetwork(`${raw}/${prefix}`) !== undefined && !(fam === 6 && netBytes.subarray(0, 12).every((b, j) => b === (j >= 10 ? 0xff : 0)))) {
        t.fail(`host bits accepted: ${raw}/${prefix}`);
        break;
      }
    }
    // Addresses: near the network (sharing a random-length prefix with it) or anywhere.
    for (let k = 0; k < 4; k++) {
      const addr = new Uint8Array(rng.bytes(bits / 8));
      const keep = rng.chance(0.7) ? rng.range(Math.max(0, prefix - 2), bits) : 0;
      for (let b = 0; b < keep; b++) {
        const m = 0x80 >> (b & 7);
        addr[b >> 3] = (addr[b >> 3]! & ~m) | (mbytes[b >> 3]! & m);
      }
      const aText = fam === 4 ? addr.join('.') : fullV6(addr);
      const a = parseAddress(aText);
      if (!a) { t.fail(`address refused: ${aText}`); break; }
      if (a.family !== fam) continue; // a random ::ffff:x (mapped): covered above
      if (fam === 6 && a.text !== urlCanonical(aText)) { t.fail(`not canonical: ${aText} → ${a.text}`); i = Infinity; break; }
      const want = modelIn(addr, fam, net);
      const got = inNetwork(a, net);
      if (got !== want) { t.fail(`inNetwork(${aText}, ${text}/${prefix}) = ${got}, model ${want}`); i = Infinity; break; }
      // The other family's /0 never holds it.
      const other = parseNetwork(fam === 4 ? '::/0' : '0.0.0.0/0')!;
      if (inNetwork(a, other)) { t.fail(`family mixed: ${aText}`); i = Infinity; break; }
      checked++;
      if (want) members++;
    }
  }
  t.ok(checked > 40_000, `${checked} addresses checked`);
  t.ok(members > 10_000 && members < checked - 10_000, `${members} inside, the rest outside`);
  t.ok(refusedHostBits > 5_000, `${refusedHostBits} networks with host bits refused`);
});

t.test('fuzz: random text never throws; what parses round-trips', async (t) => {
  const rng = new Rng(SEED ^ 0x55);
  const alphabet = '0123456789abcdefABCDEF:./%xg -';
  let parsed = 0;
  for (let i = 0; i < 30_000; i++) {
    const s = rng.str(rng.range(0, 45), alphabet);
    let a: ReturnType<typeof parseAddress>, n: Network | undefined;
    try {
      a = parseAddress(s);
      n = parseNetwork(s);
    } catch (err) {
      t.fail(`threw on ${JSON.stringify(s)}: ${String(err)}`);
      break;
    }
    if (a) {
      parsed++;
      if (parseAddress(a.text)?.text !== a.text) { t.fail(`not canonical: ${s} → ${a.text}`); break; }
    }
    if (n && formatNetwork(parseNetwork(formatNetwork(n))!) !== formatNetwork(n)) { t.fail(`no round trip: ${s}`); break; }
  }
  t.pass(`${parsed} random texts were addresses`);
});
