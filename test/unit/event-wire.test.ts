// What receivers get (lib/events/wire.ts): the body of each event type, field for field and in
// order; the signature against a vector computed with openssl; what verifyEvent refuses. And the
// refusal summary (lib/events/refusal-summary.ts): one event per period, only when something was refused.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  eventBody, eventHeaders, signEvent, verifyEvent,
  HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP,
} from '../../lib/events/wire.js';
import { RefusalSummary } from '../../lib/events/refusal-summary.js';
import type { SesameEvent } from '../../lib/events/types.js';

const at = { wallMs: 1_700_000_000_000, node: 'bastion-1' };
const TIME = '"version":1,"type":"%T","time":"2023-11-14T22:13:20.000Z","node":"bastion-1"';
const head = (type: string) => TIME.replace('%T', type);
const secret = Buffer.from('sesame-test-secret-0123456789');

t.test('one body per event type: fixed fields first, then the event\'s, in a stable order', async (t) => {
  const cases: [SesameEvent, string][] = [
    [{ type: 'grant', door: 'ssh', kind: 'spa', address: '192.0.2.7', ports: ['tcp/22'], seconds: 30 },
      `{${head('grant')},"door":"ssh","kind":"spa","address":"192.0.2.7","ports":["tcp/22"],"seconds":30,"expires":"2023-11-14T22:13:50.000Z"}`],
    // Built in another key order: the body's order does not follow the object's.
    [{ seconds: 3600, ports: ['tcp/2222 -> 10.0.0.5:22', 'udp/53'], address: '2001:db8::1', kind: 'nat', door: 'n', type: 'grant' },
      `{${head('grant')},"door":"n","kind":"nat","address":"2001:db8::1","ports":["tcp/2222 -> 10.0.0.5:22","udp/53"],"seconds":3600,` +
      '"expires":"2023-11-14T23:13:20.000Z"}'],
    [{ type: 'ban', door: 'ssh', address: '2001:db8:1:2::/64', seconds: 600, failures: 5 },
      `{${head('ban')},"door":"ssh","address":"2001:db8:1:2::/64","seconds":600,"failures":5}`],
    [{ type: 'firewall-repaired', what: 'table', detail: 'inet sesame was gone' },
      `{${head('firewall-repaired')},"what":"table","detail":"inet sesame was gone"}`],
    [{ type: 'fleet-redis', up: false }, `{${head('fleet-redis')},"up":false}`],
    [{ type: 'fleet-redis', up: true }, `{${head('fleet-redis')},"up":true}`],
    [{ type: 'refusals', seconds: 60, counts: { replay: 2, hmac: 7, age: 0 } },
      `{${head('refusals')},"seconds":60,"counts":{"hmac":7,"replay":2}}`],
    [{ type: 'stage', door: 'ssh', stage: 2 }, `{${head('stage')},"door":"ssh","stage":2}`],
    [{ type: 'spa-refused', reason: 'hmac' }, `{${head('spa-refused')},"reason":"hmac"}`],
  ];
  for (const [e, body] of cases) {
    t.equal(eventBody(e, at), body, e.type);
    t.same(Object.keys(JSON.parse(body)).slice(0, 4), ['version', 'type', 'time', 'node']);
  }
  const odd = eventBody({ type: 'firewall-repaired', what: 'grants', detail: 'a "quoted" $(x) \n line' }, at);
  t.equal(JSON.parse(odd).detail, 'a "quoted" $(x) \n line', 'strings are JSON-escaped');
});

t.test('the signature: a vector computed with openssl', async (t) => {
  const body = eventBody({ type: 'grant', door: 'ssh', kind: 'spa', address: '192.0.2.7', ports: ['tcp/22'], seconds: 30 }, at);
  // printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac 'sesame-test-secret-0123456789' -r
  const vector = 'sha256=3d7238df2e045b7449cf2bf645f36df5b3c5bcb698f8c6c38c779c79f69b4eca';
  t.equal(signEvent(secret, 1_700_000_000, body), vector);
  t.ok(verifyEvent(secret, '1700000000', body, vector, 1_700_000_000));
  t.ok(verifyEvent(secret, '1700000000', Buffer.from(body), vector.toUpperCase().replace('SHA256=', 'sha256='), 1_700_000_000),
    'a raw body and upper-case hex');
});

t.test('the signature agrees with openssl on another body, computed now', async (t) => {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.status !== 0) { t.pass('no openssl: skipped'); return; }
  const body = eventBody({ type: 'ban', door: 'd ü', address: '198.51.100.0', seconds: 1, failures: 3 }, { wallMs: 1_234_567_890_123, node: 'n' });
  const r = spawnSync('openssl', ['dgst', '-sha256', '-hmac', 'another secret, 16+ bytes', '-r'], { input: `1234567890.${body}`, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(signEvent(Buffer.from('another secret, 16+ bytes'), 1_234_567_890, body), `sha256=${r.stdout.split(' ')[0]}`);
});

t.test('verifyEvent refuses tampering, stale or future timestamps and malformed headers', async (t) => {
  const body = eventBody({ type: 'fleet-redis', up: false }, at);
  const now = 1_700_000_000;
  const sig = signEvent(secret, now, body);
  t.ok(verifyEvent(secret, String(now), body, sig, now));
  t.notOk(verifyEvent(secret, String(now), body.replace('false', 'true '), sig, now), 'tampered body');
  t.notOk(verifyEvent(secret, String(now), body + ' ', sig, now), 'a byte added');
  t.notOk(verifyEvent(secret, String(now + 1), body, sig, now), 'tampered timestamp');
  const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
  t.notOk(verifyEvent(secret, String(now), body, flipped, now), 'tampered signature');
  t.notOk(verifyEvent(Buffer.from('another secret, 16+ bytes'), String(now), body, sig, now), 'another secret');
  // Tolerance: 300 s either way by default, or as given.
  const old = signEvent(secret, now - 300, body);
  t.ok(verifyEvent(secret, String(now - 300), body, old, now), '300 s old: within');
  t.notOk(verifyEvent(secret, String(now - 301), body, signEvent(secret, now - 301, body), now), '301 s old: stale');
  t.notOk(verifyEvent(secret, String(now + 301), body, signEvent(secret, now + 301, body), now), '301 s ahead: future');
  t.ok(verifyEvent(secret, String(now + 300), body, signEvent(secret, now + 300, body), now), '300 s ahead: within');
  t.notOk(verifyEvent(secret, String(now - 30), body, signEvent(secret, now - 30, body), now, 10), 'a tighter tolerance');
  for (const [ts, s, why] of [
    [undefined, sig, 'no timestamp'], [String(now), undefined, 'no signature'], ['', sig, 'empty timestamp'],
    [`${now}.5`, sig, 'fractional timestamp'], [`-${now}`, sig, 'negative timestamp'], [` ${now}`, sig, 'space'],
    ['1e9', sig, 'exponent'], [String(now), sig.slice(7), 'no sha256= prefix'], [String(now), `sha1=${sig.slice(7)}`, 'another scheme'],
    [String(now), sig.slice(0, -2), 'short hex'], [String(now), `${sig}00`, 'long hex'], [String(now), `${sig.slice(0, -1)}g`, 'not hex'],
    [String(now), `${sig}\n`, 'trailing newline'], ['9'.repeat(13), sig, 'too many digits'],
  ] as const) {
    t.notOk(verifyEvent(secret, ts, body, s, now), why);
  }
});

t.test('the headers of one attempt', async (t) => {
  const body = '{"x":1}';
  const signed = eventHeaders({ type: 'grant', delivery: 'id-1', timestamp: 1_700_000_000.9, body, secret });
  t.same(signed, {
    [HEADER_EVENT]: 'grant', [HEADER_TIMESTAMP]: '1700000000', [HEADER_DELIVERY]: 'id-1',
    [HEADER_SIGNATURE]: signEvent(secret, 1_700_000_000, body),
  });
  t.ok(verifyEvent(secret, signed[HEADER_TIMESTAMP], body, signed[HEADER_SIGNATURE], 1_700_000_010));
  const plain = eventHeaders({ type: 'ban', delivery: 'id-2', timestamp: 5, body });
  t.same(Object.keys(plain), [HEADER_EVENT, HEADER_TIMESTAMP, HEADER_DELIVERY], 'no secret: no signature');
});

t.test('the refusal summary: at most one event per period, only when something was refused', async (t) => {
  const s = new RefusalSummary(60_000);
  t.equal(s.due(0), undefined, 'nothing refused: nothing due');
  s.add('hmac', 1000);
  s.add('hmac', 1500);
  s.add('replay', 2000);
  t.same(s.due(2500), { type: 'refusals', seconds: 2, counts: { hmac: 2, replay: 1 } }, 'the first at once');
  t.equal(s.due(2600), undefined, 'reset');
  for (let i = 0; i < 100_000; i++) s.add('decode', 3000 + i / 10);
  t.equal(s.due(30_000), undefined, 'within the period: held');
  t.equal(s.due(62_499), undefined);
  t.same(s.due(62_500), { type: 'refusals', seconds: 60, counts: { decode: 100_000 } }, 'a period after the last one');
  t.equal(s.due(500_000), undefined, 'quiet: nothing');
  s.add('age', 600_000);
  t.same(s.due(601_000), { type: 'refusals', seconds: 1, counts: { age: 1 } }, 'after a quiet spell: from the first refusal');
  s.add('busy', 601_500);
  t.equal(s.due(650_000), undefined);
  t.same(s.due(661_000), { type: 'refusals', seconds: 60, counts: { busy: 1 } }, 'counted since the last summary');
});
