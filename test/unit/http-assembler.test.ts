// Joining an HTTP request sent in pieces (lib/matcher/http-assembler.ts): one segment, tinyproxy's
// pieces (request line, each header, the blank line), pieces of no known request, expiry from the
// first segment, the flow and size bounds, keep-alive, interleaved flows, and random segments.

import t from 'tap';
import { FLOW_MS, HttpAssembler, MAX_BYTES, MAX_FLOWS, type Segment } from '../../lib/matcher/http-assembler.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.ASSEMBLER_FUZZ_SEED ? Number(process.env.ASSEMBLER_FUZZ_SEED) >>> 0 : 0xa55e_0001;
t.comment(`assembler fuzz seed ${SEED}`);

const CLI = '198.51.100.7', SRV = '10.77.0.1';
const seg = (payload: string, o: Partial<Segment> = {}): Segment => ({ src: CLI, sport: 40000, dst: SRV, dport: 80, payload, ...o });
const LINE = `GET /${'A'.repeat(180)} HTTP/1.1\r\n`;
const HEADERS = ['User-Agent: Fwknop/2.6.10\r\n', 'Accept: */*\r\n', `Host: ${SRV}\r\n`, 'Connection: close\r\n'];
const REQUEST = `${LINE}${HEADERS.join('')}\r\n`;
/** tinyproxy's way: the request line, each header, then the blank line, each a segment. */
const PIECES = [LINE, ...HEADERS, '\r\n'];

/** Pushes pieces at `at`, `at + step`, ...: what each push returned. */
function feed(a: HttpAssembler, pieces: readonly string[], o: Partial<Segment> = {}, at = 0, step = 10): (string | undefined)[] {
  return pieces.map((p, i) => a.push(seg(p, o), at + i * step));
}

t.test('the bounds are as documented', async (t) => {
  t.same([MAX_FLOWS, MAX_BYTES, FLOW_MS], [1024, 4096, 3000]);
});

t.test('a request in one segment comes back at once, and nothing is kept', async (t) => {
  const a = new HttpAssembler();
  t.equal(a.push(seg(REQUEST), 0), REQUEST);
  t.equal(a.size, 0);
  const lf = REQUEST.replace(/\r\n/g, '\n');
  t.equal(a.push(seg(lf), 1), lf, 'bare LF line ends too');
  for (const m of ['get', 'Get', 'gET']) {
    const r = `${m}${REQUEST.slice(3)}`;
    t.equal(a.push(seg(r), 2), r, `method ${m}`);
  }
  t.equal(a.size, 0);
  t.equal(a.push(seg(LINE), 3), undefined, 'a request line alone is kept, not returned');
  t.equal(a.size, 1);
});

t.test("a request in many pieces (tinyproxy's): returned whole with its last piece", async (t) => {
  const a = new HttpAssembler();
  const got = feed(a, PIECES);
  t.same(got.slice(0, -1), PIECES.slice(0, -1).map(() => undefined), 'nothing before the blank line');
  t.equal(got.at(-1), REQUEST, 'the pieces joined in order');
  t.equal(a.size, 0, 'the flow is done');
  // The blank line split between segments, and a header split mid-word.
  const b = new HttpAssembler();
  const cut = [LINE.slice(0, 100), LINE.slice(100), 'User-Ag', 'ent: Fwknop/2.6.10\r\n\r', '\n'];
  t.same(feed(b, cut), [undefined, undefined, undefined, undefined, `${LINE}User-Agent: Fwknop/2.6.10\r\n\r\n`]);
  const c = new HttpAssembler();
  t.same(feed(c, [LINE, 'Host: h\r\n', '\r\n']), [undefined, undefined, `${LINE}Host: h\r\n\r\n`], 'the final CRLF alone ends it');
  t.same(feed(c, ['GET /x\n', 'Host: h\n', '\n']), [undefined, undefined, 'GET /x\nHost: h\n\n'], 'LF only');
  t.equal(c.push(seg('\r\n'), 100), undefined, 'a piece after the end belongs to no request');
});

t.test('pieces of a flow that began with no "GET /" are ignored', async (t) => {
  const a = new HttpAssembler();
  for (const p of [...HEADERS, '\r\n', '\r\n\r\n', `POST /${'A'.repeat(200)} HTTP/1.1\r\n\r\n`, ' GET /x\r\n\r\n', 'GET x\r\n\r\n', 'GET\r\n\r\n', 'x']) {
    t.equal(a.push(seg(p), 0), undefined, JSON.stringify(p.slice(0, 12)));
  }
  t.equal(a.size, 0, 'and not kept');
  // A request in progress takes pieces of its own flow only: source, source port, destination and port.
  t.equal(a.push(seg(LINE), 0), undefined);
  for (const o of [{ src: '198.51.100.8' }, { sport: 40001 }, { dst: '10.77.0.2' }, { dport: 8080 }, { src: '2001:db8::7' }]) {
    t.equal(a.push(seg('Host: h\r\n\r\n', o), 1), undefined, JSON.stringify(o));
  }
  t.equal(a.size, 1);
  t.equal(a.push(seg('Host: h\r\n\r\n'), 2), `${LINE}Host: h\r\n\r\n`, 'the own flow still completes, without the strangers\' pieces');
});

t.test('a request not complete FLOW_MS after its first segment is dropped', async (t) => {
  const a = new HttpAssembler();
  t.equal(a.push(seg(LINE), 1000), undefined);
  t.equal(a.push(seg(HEADERS[0]!), 2000), undefined);
  t.equal(a.push(seg(HEADERS[1]!), 1000 + FLOW_MS - 1), undefined);
  t.equal(a.push(seg('\r\n'), 1000 + FLOW_MS), undefined, 'at FLOW_MS the flow is gone, though its last piece came 1 ms ago');
  t.equal(a.size, 0);
  const b = new HttpAssembler();
  t.same(feed(b, PIECES, {}, 5000, (FLOW_MS - 1) / (PIECES.length - 1)).at(-1), REQUEST, 'the last piece at FLOW_MS - 1 completes it');
  // Expiry happens on any push: an idle flow does not linger.
  const c = new HttpAssembler();
  c.push(seg(LINE, { sport: 1 }), 0);
  c.push(seg(LINE, { sport: 2 }), 1000);
  t.equal(c.size, 2);
  t.equal(c.push(seg('x', { sport: 3 }), FLOW_MS), undefined);
  t.equal(c.size, 1, 'the first flow expired on an unrelated segment');
  c.push(seg('x', { sport: 3 }), 1000 + FLOW_MS);
  t.equal(c.size, 0);
  t.equal(c.push(seg('\r\n', { sport: 2 }), 1000 + FLOW_MS), undefined);
});

t.test('at most MAX_FLOWS requests in progress: the oldest goes', async (t) => {
  const a = new HttpAssembler();
  for (let i = 0; i <= MAX_FLOWS; i++) t.equal(a.push(seg(LINE, { sport: 1000 + i }), i === 0 ? 0 : 1), undefined);
  t.equal(a.size, MAX_FLOWS);
  t.equal(a.push(seg('\r\n', { sport: 1000 }), 2), undefined, 'the oldest was evicted');
  t.equal(a.push(seg('\r\n', { sport: 1001 }), 2), `${LINE}\r\n`, 'the next oldest is still there');
  t.equal(a.push(seg('\r\n', { sport: 1000 + MAX_FLOWS }), 2), `${LINE}\r\n`, 'the newest is there');
  // Many more flows than the bound: the size never passes it.
  const b = new HttpAssembler();
  let most = 0;
  for (let i = 0; i < 5 * MAX_FLOWS; i++) {
    b.push(seg(LINE, { src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }), 0);
    most = Math.max(most, b.size);
  }
  t.equal(most, MAX_FLOWS);
  // A flow's later pieces do not make it younger; a new GET does (it is a new request).
  const c = new HttpAssembler();
  c.push(seg(LINE, { sport: 1 }), 0);
  c.push(seg(LINE, { sport: 2 }), 0);
  c.push(seg(LINE, { sport: 3 }), 0);
  c.push(seg('Host: h\r\n', { sport: 1 }), 1);
  c.push(seg(LINE, { sport: 2 }), 1);
  for (let i = 0; i < MAX_FLOWS - 2; i++) c.push(seg(LINE, { sport: 100 + i }), 2);
  t.equal(c.size, MAX_FLOWS);
  t.equal(c.push(seg('\r\n', { sport: 1 }), 3), undefined, 'the oldest request went, though it sent a piece lately');
  t.equal(c.push(seg('\r\n', { sport: 3 }), 3), `${LINE}\r\n`);
  t.equal(c.push(seg('\r\n', { sport: 2 }), 3), `${LINE}\r\n`, 'started over later: kept');
});

t.test('a request over MAX_BYTES without its end is dropped', async (t) => {
  const a = new HttpAssembler();
  const head = `GET /${'A'.repeat(1000)}\r\n`;
  const filler = `X-Fill: ${'f'.repeat(1000 - 10)}\r\n`; // 1000 bytes
  t.equal(filler.length, 1000);
  let text = head;
  t.equal(a.push(seg(head), 0), undefined);
  while (text.length + filler.length <= MAX_BYTES) {
    t.equal(a.push(seg(filler), 1), undefined);
    text += filler;
  }
  const room = MAX_BYTES - text.length;
  t.equal(a.push(seg('y'.repeat(room)), 2), undefined, 'exactly MAX_BYTES is kept');
  t.equal(a.size, 1);
  t.equal(a.push(seg('\r\n\r\n'), 3), `${text}${'y'.repeat(room)}\r\n\r\n`, 'and completed by one more segment');
  const b = new HttpAssembler();
  b.push(seg(head), 0);
  b.push(seg('z'.repeat(MAX_BYTES - head.length)), 1);
  t.equal(b.size, 1);
  t.equal(b.push(seg('z'), 2), undefined, 'one byte more');
  t.equal(b.size, 0, 'dropped');
  t.equal(b.push(seg('\r\n\r\n'), 3), undefined, 'its end belongs to no request now');
  const c = new HttpAssembler();
  t.equal(c.push(seg(`GET /${'A'.repeat(MAX_BYTES)}`), 0), undefined, 'a first segment over MAX_BYTES is not kept');
  t.equal(c.size, 0);
});

t.test('keep-alive: a new "GET /" on the same flow starts a new request', async (t) => {
  const a = new HttpAssembler();
  t.equal(feed(a, PIECES, {}, 0).at(-1), REQUEST);
  const second = `GET /second HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n`;
  t.same(feed(a, ['GET /second HTTP/1.1\r\n', 'User-Agent: Fwknop/2.6.10\r\n', '\r\n'], {}, 100), [undefined, undefined, second],
    'the second request alone');
  // A new GET before the first request ended replaces it.
  t.equal(a.push(seg(LINE), 200), undefined);
  t.equal(a.push(seg(HEADERS[0]!), 201), undefined);
  t.equal(a.push(seg(REQUEST), 202), REQUEST, 'a whole request in one segment, not joined to the unfinished one');
  t.equal(a.size, 0);
  t.equal(a.push(seg(LINE), 300), undefined);
  t.equal(a.push(seg('get /other\r\n'), 301), undefined);
  t.equal(a.push(seg('\r\n'), 302), 'get /other\r\n\r\n', 'the method in any case starts over too');
});

t.test('interleaved flows are joined apart', async (t) => {
  const a = new HttpAssembler();
  const flows: Partial<Segment>[] = [{}, { sport: 40001 }, { src: '198.51.100.8' }, { src: '2001:db8::7', dst: 'fd77::1' }, { dport: 8080 }];
  const requests = flows.map((_, i) => [`GET /flow${i}${'B'.repeat(150)} HTTP/1.1\r\n`, `X-Flow: ${i}\r\n`, ...HEADERS, '\r\n']);
  const done: (string | undefined)[] = flows.map(() => undefined);
  for (let k = 0; k < requests[0]!.length; k++) {
    for (let i = flows.length - 1; i >= 0; i--) {
      const r = a.push(seg(requests[i]![k]!, flows[i]), k * 10 + i);
      if (r !== undefined) { t.equal(done[i], undefined, `flow ${i} once`); done[i] = r; }
      if (k < requests[0]!.length - 1) t.equal(r, undefined);
    }
  }
  t.same(done, requests.map((r) => r.join('')));
  t.equal(a.size, 0);
});

t.test('fuzz: random segments never throw; whatever comes back is a request, ended, and bounded', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const vocab = ['GET /', 'get /', 'GET ', 'G', '\r\n', '\n', '\r', '\r\n\r\n', '\n\n', 'User-Agent: Fwknop/2.6.10', 'Host: h', 'X: ',
    'A'.repeat(100), 'B'.repeat(1400), ' HTTP/1.1', 'POST /', ':', ' ', '\0', '\xff'];
  let returned = 0, pushes = 0, most = 0;
  let now = 0;
  const a = new HttpAssembler();
  for (let i = 0; i < 200_000 && Date.now() - started < 15_000; i++) {
    // Now and then a burst of new requests from many flows (eviction), else a few flows (so requests complete).
    if (rng.chance(0.001)) {
      const n = rng.range(MAX_FLOWS / 2, 2 * MAX_FLOWS);
      for (let j = 0; j < n; j++) a.push(seg(`GET /${rng.str(rng.range(0, 20), 'ab\r\n')}`, { sport: 10_000 + j, src: '203.0.113.9' }), now);
      most = Math.max(most, a.size);
    }
    const o: Partial<Segment> = { sport: rng.int(6), src: rng.chance(0.5) ? CLI : 'fd77::2' };
    let payload = '';
    const parts = rng.range(1, 6);
    for (let k = 0; k < parts; k++) payload += rng.chance(0.85) ? rng.pick(vocab) : rng.bytes(rng.range(1, 30)).toString('latin1');
    if (payload.length > 1500) payload = payload.slice(0, 1500);
    now += rng.chance(0.02) ? rng.range(0, 4000) : rng.range(0, 20);
    let r: string | undefined;
    try {
      r = a.push(seg(payload, o), now);
    } catch (err) {
      t.fail(`threw ${String(err)} at ${i}`);
      return;
    }
    pushes++;
    most = Math.max(most, a.size);
    if (r === undefined) continue;
    returned++;
    const ctx = JSON.stringify({ seed: SEED, i, start: r.slice(0, 40), length: r.length, segment: payload.length });
    if (!/^get \//i.test(r)) { t.fail(`returned text not starting "GET /": ${ctx}`); return; }
    if (r.length > MAX_BYTES + payload.length) { t.fail(`returned more than MAX_BYTES and a segment: ${ctx}`); return; }
    if (!r.includes('\r\n\r\n') && !r.includes('\n\n')) { t.fail(`returned text without the end of its headers: ${ctx}`); return; }
    if (!r.endsWith(payload)) { t.fail(`returned text does not end with the segment that completed it: ${ctx}`); return; }
  }
  t.ok(pushes > 10_000, `${pushes} segments`);
  t.ok(returned > 500, `${returned} requests returned`);
  t.ok(most <= MAX_FLOWS, `at most ${most} flows kept`);
  t.ok(most > 100, 'the bursts filled the table');
});
