// Who sent a request that came through proxies (lib/matcher/forwarded-for.ts): X-Forwarded-For is
// believed only from a trusted proxy and only as far as trusted hops reach. Hand cases, then the
// walk fuzzed against an independent model written here (node:net and the URL parser for
// addresses, BigInt prefixes for membership and ranges, the chain reversed and scanned), with the
// properties the issue asks for checked on every random chain. A forwarded client that cannot be a
// client (unspecified, loopback, multicast or reserved, broadcast, link-local) is refused.

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
/** Why the model says `a` cannot be a client: by value ranges, not bytes. */
function mNotAClient(a: M): string | undefined {
  if (a.fam === 4) {
    const inV4 = (cidr: string) => {
      const [n, p] = cidr.split('/') as [string, string];
      const base = n.split('.').reduce((x, o) => x * 256n + BigInt(o), 0n);
      return a.v >= base && a.v < base + (1n << BigInt(32 - Number(p)));
    };
    if (inV4('0.0.0.0/8')) return 'an unspecified address';
    if (inV4('127.0.0.0/8')) return 'a loopback address';
    if (a.v === 0xffffffffn) return 'the broadcast address';
    if (inV4('224.0.0.0/3')) return 'a multicast or reserved address';
    if (inV4('169.254.0.0/16')) return 'a link-local address';
    return undefined;
  }
  if (a.v === 0n) return 'an unspecified address';
  if (a.v === 1n) return 'a loopback address';
  if (a.v >> 120n === 0xffn) return 'a multicast address';
  if (a.v >> 118n === 0xfe80n >> 6n) return 'a link-local address';
  return undefined;
}
type Model = { ok: true; ip: string; family: 4 | 6; forwarded: boolean } | { ok: false; reason?: string };
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
  const why = hops.length > 0 ? mNotAClient(last) : undefined;
  if (why) return { ok: false, reason: `X-Forwarded-For names ${last.text}, ${why}` };
  return { ok: true, ip: last.text, family: last.fam, forwarded: hops.length > 0 };
}
/** The result as the model writes it: the reason only for the refusals the model words. */
const strip = (r: ClientAddress): Model => (r.ok ? { ok: true, ip: r.ip, family: r.family, forwarded: r.forwarded }
  : r.reason.startsWith('X-Forwarded-For names ') ? { ok: false, reason: r.reason } : { ok: false });

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

t.test('a forwarded client that cannot be a client is refused, saying why', async (t) => {
  const cases: [string, string, string][] = [
    // [entry, as the reason writes it, why]
    ['0.0.0.0', '0.0.0.0', 'an unspecified address'],
    ['0.1.2.3', '0.1.2.3', 'an unspecified address'],
    ['0.255.255.255', '0.255.255.255', 'an unspecified address'],
    ['127.0.0.1', '127.0.0.1', 'a loopback address'],
    ['127.255.255.254', '127.255.255.254', 'a loopback address'],
    ['224.0.0.1', '224.0.0.1', 'a multicast or reserved address'],
    ['239.255.255.250', '239.255.255.250', 'a multicast or reserved address'],
    ['240.0.0.1', '240.0.0.1', 'a multicast or reserved address'],
    ['255.255.255.254', '255.255.255.254', 'a multicast or reserved address'],
    ['255.255.255.255', '255.255.255.255', 'the broadcast address'],
    ['169.254.0.0', '169.254.0.0', 'a link-local address'],
    ['169.254.169.254', '169.254.169.254', 'a link-local address'],
    ['169.254.255.255', '169.254.255.255', 'a link-local address'],
    ['::', '::', 'an unspecified address'],
    ['0:0:0:0:0:0:0:0', '::', 'an unspecified address'],
    ['::1', '::1', 'a loopback address'],
    ['0::0:1', '::1', 'a loopback address'],
    ['ff02::1', 'ff02::1', 'a multicast address'],
    ['ff00::', 'ff00::', 'a multicast address'],
    ['FF05::1:3', 'ff05::1:3', 'a multicast address'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'a multicast address'],
    ['fe80::1', 'fe80::1', 'a link-local address'],
    ['FE80::abcd:1', 'fe80::abcd:1', 'a link-local address'],
    ['febf:ffff::1', 'febf:ffff::1', 'a link-local address'],
    // IPv4-mapped IPv6 reads as IPv4, so is judged as IPv4.
    ['::ffff:127.0.0.1', '127.0.0.1', 'a loopback address'],
    ['::ffff:0.0.0.0', '0.0.0.0', 'an unspecified address'],
    ['::ffff:169.254.1.1', '169.254.1.1', 'a link-local address'],
    ['::ffff:ffff:ffff', '255.255.255.255', 'the broadcast address'],
  ];
  for (const [entry, text, why] of cases) {
    t.same(clientAddress('10.1.1.1', [entry], PROXIES), { ok: false, reason: `X-Forwarded-For names ${text}, ${why}` }, entry);
    t.same(clientAddress('fd00::1', ['6.6.6.6', entry, '10.2.2.2'], PROXIES), { ok: false, reason: `X-Forwarded-For names ${text}, ${why}` },
      `${entry}: behind trusted hops, from an IPv6 proxy`);
  }
  // Their neighbours are clients.
  for (const ok of ['1.0.0.0', '126.255.255.255', '128.0.0.0', '223.255.255.255', '169.253.255.255', '169.255.0.0', '168.254.1.1',
    '::2', '::ffff:1.2.3.4', '2001:db8::1', 'fec0::1', 'fe7f:ffff::1', 'fc00::1', 'feff::1', 'ff::1', '1::', '::1:0']) {
    const r = clientAddress('10.1.1.1', [ok], PROXIES);
    t.ok(r.ok && r.forwarded, `${ok}: a client`);
  }
  // Only where the walk ends is judged: a trusted hop that is loopback is walked past.
  const local = nets('10.0.0.0/8', '127.0.0.0/8', '::1/128');
  t.same(clientAddress('127.0.0.1', ['198.51.100.1', '127.0.0.1'], local), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true },
    'a local proxy behind a local proxy');
  t.same(clientAddress('::1', ['198.51.100.1'], local), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true }, 'a proxy on ::1');
  t.same(clientAddress('127.0.0.1', ['127.0.0.2'], local), { ok: false, reason: 'X-Forwarded-For names 127.0.0.2, a loopback address' },
    'every hop trusted: the leftmost is the client, and is judged');
  t.same(clientAddress('10.1.1.1', ['0.0.0.0', '198.51.100.1'], PROXIES), { ok: true, ip: '198.51.100.1', family: 4, forwarded: true },
    'an odd entry left of the client is never read');
  // The peer itself is not judged: a packet's own source is what the firewall saw.
  t.same(clientAddress('127.0.0.1', ['198.51.100.1'], PROXIES), { ok: true, ip: '127.0.0.1', family: 4, forwarded: false }, 'an untrusted loopback peer');
  t.same(clientAddress('169.254.1.1', ['198.51.100.1'], PROXIES), { ok: true, ip: '169.254.1.1', family: 4, forwarded: false });
  t.same(clientAddress('fe80::1', undefined, PROXIES), { ok: true, ip: 'fe80::1', family: 6, forwarded: false });
  t.same(clientAddress('127.0.0.1', undefined, local), { ok: true, ip: '127.0.0.1', family: 4, forwarded: false }, 'a trusted loopback peer without the header');
  t.same(clientAddress('127.0.0.1', [], local), { ok: true, ip: '127.0.0.1', family: 4, forwarded: false }, 'and with an empty one');
  // Garbage and length are still refused first, with their own reasons.
  t.same(clientAddress('10.1.1.1', ['127.0.0.1', 'garbage'], PROXIES), { ok: false, reason: 'X-Forwarded-For entry is not an address: "garbage"' });
  t.same(clientAddress('10.1.1.1', Array(MAX_HOPS + 1).fill('127.0.0.1'), PROXIES), { ok: false, reason: `X-Forwarded-For longer than ${MAX_HOPS} hops` });
});

t.test('fuzz: the walk equals the model on random chains; the properties hold', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const untrustedV4 = () => `${rng.pick([203, 198, 8, 100, 172, 11])}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
  const trustedV4 = () => rng.chance(0.1) ? '192.0.2.7' : `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
  const h = () => rng.int(0x10000).toString(16);
  const trustedV6 = () => rng.chance(0.5) ? `fd${rng.int(256).toString(16).padStart(2, '0')}::${h()}:${h()}` : `2001:db8:aaaa:${h()}::${h()}`;
  const untrustedV6 = () => rng.pick([`2001:db8:${h()}::${h()}`, `fe80::${h()}`, `::${h()}`, `2a00:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}`]);
  // Addresses that cannot be clients, and their neighbours.
  const oddV4 = () => rng.pick([`0.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`, `127.${rng.int(256)}.0.${rng.int(256)}`, `${rng.range(224, 255)}.${rng.int(256)}.1.${rng.int(256)}`,
    '255.255.255.255', `169.254.${rng.int(256)}.${rng.int(256)}`, `169.${rng.range(253, 255)}.1.1`, `${rng.pick([1, 126, 128, 223])}.255.255.${rng.int(256)}`]);
  const oddV6 = () => rng.pick(['::', '::1', '::2', `::${rng.int(4)}`, `ff${h().padStart(2, '0').slice(0, 2)}::${h()}`, `fe${rng.pick(['80', '9a', 'bf', 'c0', '7f'])}::${h()}`,
    `${rng.pick(['fe', 'ff', 'fc', ''])}${h()}::${h()}`]);
  const garbage = () => rng.pick(['', ' ', 'unknown', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4:8080', '[fd00::1]', 'fd00::1%eth0',
    'fd00:::1', 'zz::1', '"10.0.0.1"', '10.0.0.1 ', '\t10.0.0.1', 'for=10.0.0.1', rng.str(rng.range(1, 12), '0123456789abcdef:.%x ')]);
  const spell = (a: string) => (rng.chance(0.15) && !a.includes(':') ? `::ffff:${a}` : rng.chance(0.2) ? a.toUpperCase() : a);
  const entry = () => {
    const k = rng.int(100);
    return k < 30 ? spell(trustedV4()) : k < 45 ? trustedV6() : k < 60 ? spell(untrustedV4()) : k < 70 ? untrustedV6()
      : k < 80 ? spell(oddV4()) : k < 87 ? oddV6() : garbage();
  };
  let runs = 0, forwarded = 0, refused = 0, fromUntrusted = 0, allTrusted = 0, garbageRefused = 0, tooLong = 0, oddRefused = 0;
  for (let i = 0; i < 40_000 && Date.now() - started < 25_000; i++) {
    const proxies = rng.chance(0.9) ? PROXIES : nets(rng.pick(['0.0.0.0/0', '::/0', '10.0.0.0/8', '10.128.0.0/9', '127.0.0.0/8']));
    const peer = rng.chance(0.75) ? spell(rng.chance(0.5) ? trustedV4() : trustedV6()) : rng.chance(0.7) ? untrustedV4() : rng.chance(0.5) ? oddV4() : garbage();
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
      // Property: a refusal from a trusted peer means garbage in the walked part, too many hops, or
      // a forwarded client that cannot be one (named in the reason, which the model words too).
      if (peerTrusted && entries!.length > MAX_HOPS) tooLong++;
      else if (peerTrusted && got.reason.startsWith('X-Forwarded-For names ')) {
        const named = mParse(got.reason.slice('X-Forwarded-For names '.length, got.reason.indexOf(',')));
        if (!named || !mNotAClient(named) || !entries!.some((e) => mParse(e)?.text === named.text)) { t.fail(`refused a client: ${ctx}`); break; }
        oddRefused++;
      } else if (peerTrusted) garbageRefused++;
      continue;
    }
    // Property: a forwarded client is never one that cannot be a client.
    if (got.forwarded && mNotAClient(mParse(got.ip)!)) { t.fail(`forwarded a non-client: ${ctx}`); break; }
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
  t.ok(oddRefused > 500, `${oddRefused} refused for a forwarded address that cannot be a client`);
  t.ok(refused > 0);
});
