// The BPF filter text matches knockd's shape and compiles with the real libpcap (tcpdump -d).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildFilter, MATCH_NOTHING } from '../../lib/matcher/capture-filter.js';
import { config } from '../helpers/knocks.js';

const doors = (text: string) => config(text).doors;

function compiles(expr: string): boolean {
  // -d compiles and prints the BPF program without capturing; `lo` exists in every namespace.
  const r = spawnSync('tcpdump', ['-i', 'lo', '-d', expr], { encoding: 'utf8' });
  return r.status === 0;
}

t.test('knockd\'s observed IPv4 filter for a mixed door with flags', async (t) => {
  const f = buildFilter({ doors: doors('[d]\nsequence = 2222:udp,3333:tcp,4444:udp\ntcpflags = syn,ack\n'), local: ['10.77.0.1'], onlyIPv4: false });
  t.equal(f, '((dst host 10.77.0.1) and (((tcp dst port 3333) and tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack != 0) or (udp dst port 2222 or 4444)))');
  t.ok(compiles(f));
});

t.test('IPv6 flags use the fixed offset, as knockd', async (t) => {
  const f = buildFilter({ doors: doors('[d]\nsequence = 7000,8000,9000\ntcpflags = syn\n'), local: ['fe80::f3:5bff:fe6c:6b2', 'fd77::1'], onlyIPv4: false });
  t.equal(f, '((dst host fe80::f3:5bff:fe6c:6b2 or dst host fd77::1) and (((tcp dst port 7000 or 8000 or 9000) and ip6[13+40] & tcp-syn != 0)))' +
    ' or (ip6 and (dst host fe80::f3:5bff:fe6c:6b2 or dst host fd77::1) and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 51 or ip6[6] == 60))',
    'plus IPv6 packets with extension headers, which the decoder walks (knockd never sees them)');
  t.ok(compiles(f));
});

t.test('negated flags, several doors, both families, -4', async (t) => {
  const d = doors('[a]\nsequence = 1,2:udp\ntcpflags = fin,!syn,rst,psh,!ack,urg\n[b]\nsequence = 9\n[c]\nsequence = 5\ntarget = 10.77.0.50\n[e]\nsequence = 6\ntarget = fd77::50\n');
  const both = buildFilter({ doors: d, local: ['10.77.0.1', 'fd77::1'], onlyIPv4: false });
  t.match(both, 'tcp[tcpflags] & tcp-fin != 0 and tcp[tcpflags] & tcp-syn == 0 and tcp[tcpflags] & tcp-rst != 0 and tcp[tcpflags] & tcp-push != 0 and tcp[tcpflags] & tcp-ack == 0 and tcp[tcpflags] & tcp-urg != 0');
  t.match(both, '((dst host 10.77.0.50) and (((tcp dst port 5))))');
  t.match(both, '((dst host fd77::50) and (((tcp dst port 6))))');
  t.ok(compiles(both));
  const v4only = buildFilter({ doors: d, local: ['10.77.0.1', 'fd77::1'], onlyIPv4: true });
  t.notMatch(v4only, /fd77/);
  t.ok(compiles(v4only));
});

t.test('nothing to match: a filter that passes nothing (not an empty one)', async (t) => {
  t.equal(buildFilter({ doors: doors('[d]\nsequence = 1\n'), local: [], onlyIPv4: false }), MATCH_NOTHING);
  t.equal(buildFilter({ doors: [], local: ['10.0.0.1'], onlyIPv4: false }), MATCH_NOTHING);
  t.ok(compiles(MATCH_NOTHING));
});

t.test('large configs get one port list, or TCP and UDP, and compile quickly (reliability 7)', async (t) => {
  const many = (n: number, ports: (i: number) => string) =>
    doors(Array.from({ length: n }, (_, i) => `[d${i}]\nsequence = ${ports(i)}\ntcpflags = syn\n`).join(''));
  const local = ['10.77.0.1', 'fd77::1'];
  const d500 = many(500, (i) => `${7000 + (i % 50)},${8000 + (i % 30)},${9000 + (i % 20)}:udp`);
  const f500 = buildFilter({ doors: d500, local, onlyIPv4: false });
  t.ok(f500.startsWith('((dst host 10.77.0.1 or dst host fd77::1) and ((tcp dst port 7000 or 8000 or 7001 or 8001'), 'one port list');
  t.equal(f500.split('dst port').length - 1, 2, 'one TCP and one UDP list');
  t.notMatch(f500, /tcp-syn/, 'flags are left to the matcher');
  let t0 = Date.now();
  t.ok(compiles(f500), 'compiles');
  t.ok(Date.now() - t0 < 5000, `in ${Date.now() - t0} ms`);
  const d4000 = many(4000, (i) => `${1000 + i},${20000 + i},${40000 + i}`);
  const f4000 = buildFilter({ doors: d4000, local, onlyIPv4: false });
  t.match(f4000, /^\(\(dst host 10\.77\.0\.1 or dst host fd77::1\) and \(tcp or udp\)\)/, 'too many ports: TCP and UDP to local addresses');
  t0 = Date.now();
  t.ok(compiles(f4000), '4,000 doors compile');
  t.ok(Date.now() - t0 < 5000, `in ${Date.now() - t0} ms`);
  const small = buildFilter({ doors: many(32, (i) => `${1000 + i}`), local, onlyIPv4: false });
  t.match(small, 'tcp-syn', 'up to 64 clauses (32 doors, two families) the filter stays per door');
});
