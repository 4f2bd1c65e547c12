// Who sent a request that came through proxies (lib/matcher/forwarded-for.ts): X-Forwarded-For is
// believed only from a trusted proxy and only as far as trusted hops reach. Hand cases, then the
// walk fuzzed against an independent model written here (node:net and the URL parser for
// addresses, BigInt prefixes for membership, the chain reversed and scanned), with the properties
// the issue asks for checked on every random chain.

import t from 'tap';
import { isIP } from 'node:net';
import { clientAddress, MAX_HOPS, type ClientAddress } from '../../lib/matcher/forwarded-for.js';
import { parseNetwork, type Network } from '../../lib/config/cidr.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.XFF_FUZZ_SEED ? Number(process.env.XFF_FUZZ_SEED) >>> 0 : 0x0ff0_2024;
t.comment(`X-Forwarded-For fuzz seed ${SEED}`);

const nets = (...s: string[]): Network[] => s.map((x) => { const n = parseNetwork(x); if (!n) throw new Error(x); return n; });
const PROXIES = nets('10.0.0.0/8', '192.0.2.7', 'fd00::/8', '2001:db8:aaaa::/48');

// ----------------------------------------------------------------------------------------------
// The model. An address is { fam, v: BigInt, text }; IPv4-mapped IPv6 becomes IPv4.

interface M { fam: 4 | 6; v: bigint; text: string }
function mParse(s: string): M | undefined {
  if (s.includes('%')) return undefined;
  const kind = isIP(s);
  if (kind === 4) {
    const parts = s.split('.');
    if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
    return { fam: 4, v: parts.reduce((n, p) => n * 256n + BigInt(p), 0n), text: parts.map(Number).join('.') };
  }
  if (kind !== 6) return undefined;
  // The URL parser writes the canonical form; expand it to 8 groups for the value.
  const canon = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const [head, tail] = canon.includes('::') ? canon.split('::') as [string, string] : [canon, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  const v = groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (v >> 32n === 0xffffn) {
    const n = Number(v & 0xffffffffn);
    return { fam: 4, v: v & 0xffffffffn, text: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.') };
  }
  return { fam: 6, v, text: canon };
}
function mTrusted(a: M, proxies: readonly Network[]): boolean {
  return proxies.some((n) => {
    if (n.family !== a.fam) return false;
    const bits = a.fam === 4 ? 32 : 128;
    const nv = Array.from(n.bytes).reduce((x, b) => (x << 8n) | BigInt(b), 0n);
    const shift = BigInt(bits - n.prefix);
    return a.v >> shift === nv >> shift;
  });
}
type Model = { ok: true; ip: string; family: 4 | 6; forwarded: boolean } | { ok: false };
function model(peer: string, entries: readonly string[] | undefined, proxies: readonly Network[]): Model {
  const p = mParse(peer);
  if (!p) return { ok: false };
  if (!entries || !mTrusted(p, proxies)) return { ok: true, ip: p.text, family: p.fam, forwarded: false };
  if (entries.length > MAX_HOPS) return { ok: false };
  const hops = [...entries].reverse();
  let last: M = p;
  for (const e of hops) {
    const a = mParse(e);
    if (!a) return { ok: false };
    last = a;
    if (!mTrusted(a, proxies)) break;
  }
  return { ok: true, ip: last.text, family: last.fam, forwarded: hops.length > 0 };
}
const strip = (r: ClientAddress): Model => (r.ok ? { ok: true, ip: r.ip, family: r.family, forwarded: r.forwarded } : { ok: false });

// ----------------------------------------------------------------------------------------------

t.test('an untrusted peer: its own address, whatever the header says', async (t) => {
  t.same(clientAddress('203.0.113.5', ['198.51.100.1'], PROXIES), { ok: true, ip: '203.0.113.5', family: 4, forwarded: false });
  t.same(clientAddress('203.0.113.5', ['garbage', '%%%'], PROXIES), { ok: true, ip: '203.0.113.5', family: 4, forwarded: false }, 'not even read');
  t.same(clientAddress('203.0.113.5', Array(100).fill('1.2.3.4'), PROXIES), { ok: true, ip: '203.0.113.5', family: 4, forwarded: false });
  t.same(clientAddress('2001:db8:bbbb::1', ['10.0.0.1'], PROXIES), { ok: true, ip: '2001:db8:bbbb::1', family: 6, forwarded: false });
  t.same(clientAddress('203.0.113.5', ['198.51.100.1'], []), { ok: true, ip: '203.0.113.5', family: 4, forwarded: false }, 'no proxies at all');
});

t.test('a trusted peer without the header: itself', async (t) => {
  t.same(clientAddress('10.1.1.1', undefined, PROXIES), { ok: true, ip: '10.1.1.1', family: 4, forwarded: false });
  t.same(clientAddress('10.1.1.1', [], PROXIES), { ok: true, ip: '10.1.1.1', family: 4, forwarded: false });
});

t.test('a trusted peer: the walk from the right stops at the first untrusted entry', async (t) => {
  t.same(clientAddress('10.1.1.1', ['198.51.100.1'], PROXIES), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true });
  t.same(clientAddress('10.1.1.1', ['6.6.6.6', '198.51.100.1', '10.2.2.2', '192.0.2.7'], PROXIES),
    { ok: true, ip: '198.51.100.1', family: 4, forwarded: true }, 'the spoofed leftmost entry is not believed');
  t.same(clientAddress('10.1.1.1', ['garbage', '198.51.100.1'], PROXIES), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true },
    'entries left of the client are never read');
  t.same(clientAddress('fd00::1', ['2001:DB8:BBBB:0::1', 'fd00::2'], PROXIES), { ok: true, ip: '2001:db8:bbbb::1', family: 6, forwarded: true });
  t.same(clientAddress('::ffff:10.1.1.1', ['::ffff:198.51.100.1'], PROXIES), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true },
    'mapped addresses read as IPv4, on both sides');
  t.same(clientAddress('10.1.1.1', ['10.9.9.9', '10.8.8.8'], PROXIES), { ok: true, ip: '10.9.9.9', family: 4, forwarded: true },
    'every hop trusted: the leftmost');
  t.same(clientAddress('192.0.2.7', ['192.0.2.8'], PROXIES), { ok: true, ip: '192.0.2.8', family: 4, forwarded: true }, 'a /32 proxy');
  t.same(clientAddress('192.0.2.8', ['198.51.100.1'], PROXIES), { ok: true, ip: '192.0.2.8', family: 4, forwarded: false }, 'its neighbour is not');
});

t.test('garbage from a trusted hop refuses; so does a chain longer than MAX_HOPS', async (t) => {
  for (const g of ['', 'unknown', '1.2.3.4:80', '[::1]', 'fe80::1%eth0', '010.0.0.1', '1.2.3', '"1.2.3.4"', 'for=1.2.3.4', '1.2.3.4 ', '_hidden']) {
    const r = clientAddress('10.1.1.1', [g], PROXIES);
    t.equal(r.ok, false, JSON.stringify(g));
    if (!r.ok) t.equal(r.reason, `X-Forwarded-For entry is not an address: ${JSON.stringify(g)}`);
  }
  const long = 'x'.repeat(500);
  const r = clientAddress('10.1.1.1', [long], PROXIES);
  t.equal(!r.ok && r.reason, `X-Forwarded-For entry is not an address: ${JSON.stringify('x'.repeat(64))}`, 'quoted, cut at 64');
  t.equal(clientAddress('10.1.1.1', ['garbage', '10.2.2.2'], PROXIES).ok, false, 'garbage behind a trusted hop');
  const full = Array(MAX_HOPS).fill('10.2.2.2');
  t.equal(clientAddress('10.1.1.1', full, PROXIES).ok, true, `${MAX_HOPS} hops are read`);
  const over = clientAddress('10.1.1.1', [...full, '10.2.2.2'], PROXIES);
  t.same(over, { ok: false, reason: `X-Forwarded-For longer than ${MAX_HOPS} hops` });
  t.equal(clientAddress('10.1.1.1', [...full, '198.51.100.1'], PROXIES).ok, false, 'even when the last hop is already the client');
});

t.test('a peer that is not an address refuses', async (t) => {
  for (const p of ['', 'host', '10.0.0.1%x', 'fe80::1%eth0']) t.same(clientAddress(p, undefined, PROXIES), { ok: false, reason: `not an address: ${p}` });
});

t.test('fuzz: the walk equals the model on random chains; the properties hold', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const untrustedV4 = () => `${rng.pick([203, 198, 8, 100, 172, 11])}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
  const trustedV4 = () => rng.chance(0.1) ? '192.0.2.7' : `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
  const h = () => rng.int(0x10000).toString(16);
  const trustedV6 = () => rng.chance(0.5) ? `fd${rng.int(256).toString(16).padStart(2, '0')}::${h()}:${h()}` : `2001:db8:aaaa:${h()}::${h()}`;
  const untrustedV6 = () => rng.pick([`2001:db8:${h()}::${h()}`, `fe80::${h()}`, `::${h()}`, `2a00:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}`]);
  const garbage = () => rng.pick(['', ' ', 'unknown', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4:8080', '[fd00::1]', 'fd00::1%eth0',
    'fd00:::1', 'zz::1', '"10.0.0.1"', '10.0.0.1 ', '\t10.0.0.1', 'for=10.0.0.1', rng.str(rng.range(1, 12), '0123456789abcdef:.%x ')]);
  const spell = (a: string) => (rng.chance(0.15) && !a.includes(':') ? `::ffff:${a}` : rng.chance(0.2) ? a.toUpperCase() : a);
  const entry = () => {
    const k = rng.int(100);
    return k < 35 ? spell(trustedV4()) : k < 50 ? trustedV6() : k < 70 ? spell(untrustedV4()) : k < 85 ? untrustedV6() : garbage();
  };
  let runs = 0, forwarded = 0, refused = 0, fromUntrusted = 0, allTrusted = 0, garbageRefused = 0, tooLong = 0;
  for (let i = 0; i < 40_000 && Date.now() - started < 25_000; i++) {
    const proxies = rng.chance(0.9) ? PROXIES : nets(rng.pick(['0.0.0.0/0', '::/0', '10.0.0.0/8', '10.128.0.0/9']));
    const peer = rng.chance(0.75) ? spell(rng.chance(0.5) ? trustedV4() : trustedV6()) : rng.chance(0.8) ? untrustedV4() : garbage();
    const len = rng.chance(0.05) ? rng.range(MAX_HOPS - 1, MAX_HOPS + 4) : rng.range(0, 6);
    const entries = rng.chance(0.1) ? undefined : Array.from({ length: len }, entry);
    let got: ClientAddress;
    try {
      got = clientAddress(peer, entries, proxies);
    } catch (err) {
      t.fail(`threw: ${String(err)} ${JSON.stringify({ peer, entries })}`);
      break;
    }
    const want = model(peer, entries, proxies);
    const ctx = JSON.stringify({ seed: SEED, i, peer, entries, proxies: proxies.map((n) => `${n.family}/${n.prefix}`) });
    if (JSON.stringify(strip(got)) !== JSON.stringify(want)) { t.fail(`differs from the model: ${JSON.stringify(got)} vs ${JSON.stringify(want)} ${ctx}`); break; }
    runs++;
    const p = mParse(peer);
    const peerTrusted = p !== undefined && mTrusted(p, proxies);
    // Property: an untrusted peer's header is never used.
    if (p && !peerTrusted) {
      fromUntrusted++;
      if (!got.ok || got.forwarded || got.ip !== p.text) { t.fail(`untrusted peer's header used: ${ctx}`); break; }
    }
    if (!got.ok) {
      refused++;
      // Property: a refusal from a trusted peer means garbage in the walked part, or too many hops.
      if (peerTrusted && entries!.length > MAX_HOPS) tooLong++;
      else if (peerTrusted) garbageRefused++;
      continue;
    }
    if (got.forwarded) forwarded++;
    // Property: the result is a trusted proxy only if every hop is (peer and all entries).
    const res = mParse(got.ip)!;
    if (mTrusted(res, proxies)) {
      const every = peerTrusted && (entries ?? []).every((e) => { const a = mParse(e); return a !== undefined && mTrusted(a, proxies); });
      if (!every) { t.fail(`a trusted proxy returned as the client while a hop is not trusted: ${ctx}`); break; }
      if (entries?.length) allTrusted++;
    }
    // Property: a forwarded answer is one of the entries, as written or canonical.
    if (got.forwarded && !(entries ?? []).some((e) => mParse(e)?.text === got.ip)) { t.fail(`not an entry: ${ctx}`); break; }
  }
  t.ok(runs > 10_000, `${runs} chains`);
  t.ok(forwarded > 1000, `${forwarded} forwarded`);
  t.ok(fromUntrusted > 1000, `${fromUntrusted} from untrusted peers`);
  t.ok(garbageRefused > 500, `${garbageRefused} refused for garbage from a trusted hop`);
  t.ok(tooLong > 100, `${tooLong} refused for too many hops`);
  t.ok(allTrusted > 50, `${allTrusted} all-trusted chains`);
  t.ok(refused > 0);
});
