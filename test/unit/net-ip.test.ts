// lib/net/ip.ts answers as node:net's isIP does (the pure parts use it instead of an I/O module):
// on the forms addresses take, on near misses, and on 200,000 random texts of address characters.

import t from 'tap';
import { isIP } from 'node:net';
import { ipVersion } from '../../lib/net/ip.js';

t.test('the same answers as node:net on every form', async (t) => {
  const cases = [
    '0.0.0.0', '10.77.0.1', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '1.2.3.4 ',
    '::', '::1', '1::', 'fd77::2', 'FD77:0:0::2', '2001:db8::1:2:3:4:5', '2001:db8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9',
    '1::2::3', ':::', '1:2:3:4:5:6:7::', '::ffff:10.0.0.1', '::10.0.0.1', '64:ff9b::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0', 'fe80::1%', 'fe80::1%e th0', '[::1]', 'g::1', '12345::1', '', 'localhost', '1.2.3.4%eth0', '::1.2.3', '1::2:3:4:5:6:7',
  ];
  for (const c of cases) t.equal(ipVersion(c), isIP(c), JSON.stringify(c));
});

t.test('the same answers on 200,000 random texts', async (t) => {
  let seed = 99;
  const rnd = (n: number) => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const alphabet = '0123456789abcdefABCDEF:.%x';
  let differ = 0, v4 = 0, v6 = 0;
  for (let i = 0; i < 200_000; i++) {
    let s = '';
    for (let n = 1 + rnd(24); n > 0; n--) s += alphabet[rnd(alphabet.length)];
    if (rnd(3) === 0) s = `${rnd(260)}.${rnd(260)}.${rnd(260)}.${rnd(260)}`;
    if (rnd(4) === 0) s = Array.from({ length: 2 + rnd(7) }, () => rnd(3) ? rnd(65536).toString(16) : '').join(':');
    const want = isIP(s);
    if (ipVersion(s) !== want) { differ++; if (differ < 5) t.fail(`${JSON.stringify(s)}: ${ipVersion(s)} vs ${want}`); }
    if (want === 4) v4++;
    if (want === 6) v6++;
  }
  t.equal(differ, 0, `no difference (${v4} IPv4 and ${v6} IPv6 among them)`);
  t.ok(v4 > 1000 && v6 > 1000, 'both families well represented');
});
