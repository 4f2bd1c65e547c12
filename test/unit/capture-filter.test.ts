// The BPF filter text matches knockd's shape and compiles with the real libpcap (tcpdump -d).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildFilter, MATCH_NOTHING } from '../../lib/capture/filter.js';
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
  t.equal(f, '((dst host fe80::f3:5bff:fe6c:6b2 or dst host fd77::1) and (((tcp dst port 7000 or 8000 or 9000) and ip6[13+40] & tcp-syn != 0)))');
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
