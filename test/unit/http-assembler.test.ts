// Joining an HTTP request sent in pieces (lib/matcher/http-assembler.ts): one segment, tinyproxy's
// pieces (request line, each header, the blank line), pieces of no known request, expiry from the
// first segment, the flow and size bounds, keep-alive, interleaved flows, the TCP sequence numbers
// (a piece is joined only if it follows on exactly; wrap-around at 2^32; retransmissions, reordered
// and forged pieces are not joined), and random segments.

import t from 'tap';
import { FLOW_MS, HttpAssembler, MAX_BYTES, MAX_FLOWS, type Segment } from '../../lib/matcher/http-assembler.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.ASSEMBLER_FUZZ_SEED ? Number(process.env.ASSEMBLER_FUZZ_SEED) >>> 0 : 0xa55e_0001;
t.comment(`assembler fuzz seed ${SEED}`);

const CLI = '198.51.100.7', SRV = '10.77.0.1';
/**
 * Each flow's sender: the next sequence number it sends at (as TCP, it moves on by every segment
 * sent, whether or not the assembler joins it). A segment given its own `seq` (a retransmission, a
 * forgery) is sent outside that stream and does not move it.
 */
const senders = new Map<string, number>();
const ISN = 0x1000_0000;
const seg = (payload: string, o: Partial<Segment> = {}): Segment => {
  const s = { src: CLI, sport: 40000, dst: SRV, dport: 80, payload, ...o };
  if (o.seq !== undefined) return { ...s, seq: o.seq };
  const key = `${s.src} ${s.sport} ${s.dst} ${s.dport}`;
  const seq = senders.get(key) ?? ISN;
  senders.set(key, (seq + payload.length) >>> 0);
  return { ...s, seq };
};
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

t.test('TCP sequence: a piece is joined only if it follows on exactly from the data before', async (t) => {
  const a = new HttpAssembler();
  const at = (seq: number, payload: string, now = 0, o: Partial<Segment> = {}) => a.push(seg(payload, { ...o, seq }), now);
  t.equal(at(5000, LINE), undefined);
  t.equal(at(5000 + LINE.length, HEADERS[0]!), undefined, 'right after the request line: joined');
  t.equal(at(5000 + LINE.length + HEADERS[0]!.length, '\r\n'), `${LINE}${HEADERS[0]}\r\n`, 'and the next one: the request');
  t.equal(a.size, 0);
  // The length counted is the segment's bytes (latin1: one character a byte).
  const high = 'X-High: \xe9\xff\x00\x80\r\n';
  t.equal(at(1, LINE), undefined);
  t.equal(at(1 + LINE.length, high), undefined);
  t.equal(at(1 + LINE.length + high.length, '\r\n'), `${LINE}${high}\r\n`, 'bytes above 0x7f count one each');
  // The sequence number is per flow: another flow's numbers do not matter.
  t.equal(at(100, LINE, 0, { sport: 1 }), undefined);
  t.equal(at(900, LINE, 0, { sport: 2 }), undefined);
  t.equal(at(100 + LINE.length, '\r\n', 0, { sport: 2 }), undefined, "flow 1's next number on flow 2");
  t.equal(at(900 + LINE.length, '\r\n', 0, { sport: 1 }), undefined, "flow 2's next number on flow 1");
  t.equal(at(100 + LINE.length, '\r\n', 0, { sport: 1 }), `${LINE}\r\n`);
  t.equal(at(900 + LINE.length, '\r\n', 0, { sport: 2 }), `${LINE}\r\n`);
});

t.test('TCP sequence: a piece at the wrong number is ignored, and the flow keeps waiting for the right one', async (t) => {
  const a = new HttpAssembler();
  const next = 7000 + LINE.length;
  t.equal(a.push(seg(LINE, { seq: 7000 }), 0), undefined);
  const wrong = [next + 1, next - 1, next + HEADERS[0]!.length, 7000, 0, next + 0x8000_0000, (next + 0xffff_ffff) >>> 0, 0xffff_ffff];
  for (const seq of wrong) {
    t.equal(a.push(seg('X-Forged: 1\r\n\r\n', { seq }), 1), undefined, `seq ${seq} (next is ${next}): not joined`);
    t.equal(a.size, 1, 'the request in progress is kept');
  }
  t.equal(a.push(seg(HEADERS[0]!, { seq: next }), 2), undefined, 'the right one is joined');
  t.equal(a.push(seg('\r\n', { seq: next + HEADERS[0]!.length }), 3), `${LINE}${HEADERS[0]}\r\n`, 'nothing forged in the request');
  // Reordered: the later piece first is not joined, and once it is skipped the request cannot end.
  const b = new HttpAssembler();
  t.equal(b.push(seg(LINE, { seq: 10 }), 0), undefined);
  t.equal(b.push(seg('\r\n', { seq: 10 + LINE.length + HEADERS[0]!.length }), 1), undefined, 'the blank line before the header: not joined');
  t.equal(b.push(seg(HEADERS[0]!, { seq: 10 + LINE.length }), 2), undefined, 'the header: joined, but no end yet');
  t.equal(b.size, 1);
  t.equal(b.push(seg('\r\n', { seq: 10 + LINE.length + HEADERS[0]!.length }), 3), `${LINE}${HEADERS[0]}\r\n`, 'the blank line again (a retransmission): the end');
  // A forged piece that would end a proxy's request early (an injected header and the blank line).
  const c = new HttpAssembler();
  t.equal(c.push(seg(LINE, { seq: 50 }), 0), undefined);
  t.equal(c.push(seg('X-Forwarded-For: 203.0.113.66\r\n\r\n', { seq: 50 + LINE.length + 1000 }), 1), undefined, 'ahead in the window: not joined');
  t.equal(c.push(seg('X-Forwarded-For: 203.0.113.66\r\n\r\n', { seq: 50 + LINE.length - 1 }), 1), undefined, 'one byte early: not joined');
  t.equal(c.push(seg(`X-Forwarded-For: 198.51.100.1\r\n\r\n`, { seq: 50 + LINE.length }), 2), `${LINE}X-Forwarded-For: 198.51.100.1\r\n\r\n`);
  // A flow waiting for a piece that never comes expires.
  const d = new HttpAssembler();
  d.push(seg(LINE, { seq: 0 }), 0);
  d.push(seg('\r\n', { seq: 1 }), 1);
  t.equal(d.size, 1);
  t.equal(d.push(seg('\r\n', { seq: LINE.length }), FLOW_MS), undefined, 'the right piece after FLOW_MS: too late');
  t.equal(d.size, 0);
});

t.test('TCP sequence: the numbers wrap around at 2^32', async (t) => {
  const a = new HttpAssembler();
  const start = 2 ** 32 - 10; // the request line spans the wrap
  t.equal(a.push(seg(LINE, { seq: start }), 0), undefined);
  t.equal(a.push(seg('\r\n', { seq: start + LINE.length }), 1), undefined, 'the unwrapped number is not the next one');
  t.equal(a.push(seg('\r\n', { seq: start + LINE.length - 2 ** 32 - 1 }), 1), undefined, 'one short of the wrapped number');
  t.equal(a.size, 1);
  t.equal(a.push(seg('\r\n', { seq: LINE.length - 10 }), 2), `${LINE}\r\n`, 'the wrapped number is');
  // Data ending exactly at 2^32: the next piece is at 0.
  const b = new HttpAssembler();
  t.equal(b.push(seg(LINE, { seq: 2 ** 32 - LINE.length }), 0), undefined);
  t.equal(b.push(seg(HEADERS[0]!, { seq: 0 }), 1), undefined, 'at 0: joined');
  t.equal(b.push(seg(HEADERS[1]!, { seq: HEADERS[0]!.length }), 2), undefined);
  t.equal(b.push(seg('\r\n', { seq: HEADERS[0]!.length + HEADERS[1]!.length }), 3), `${LINE}${HEADERS[0]}${HEADERS[1]}\r\n`);
  // A piece that wraps and the one after it.
  const c = new HttpAssembler();
  t.equal(c.push(seg(LINE, { seq: 2 ** 32 - LINE.length - 3 }), 0), undefined);
  t.equal(c.push(seg('Host: h\r\n', { seq: 2 ** 32 - 3 }), 1), undefined, 'the last 3 numbers before the wrap and on past it');
  t.equal(c.push(seg('\r\n', { seq: 'Host: h\r\n'.length - 3 }), 2), `${LINE}Host: h\r\n\r\n`);
  t.equal(c.push(seg(LINE, { seq: 0xffff_ffff }), 3), undefined, 'the highest number');
  t.equal(c.push(seg('\r\n', { seq: LINE.length - 1 }), 4), `${LINE}\r\n`);
});

t.test('TCP sequence: a retransmitted piece is not joined twice', async (t) => {
  const a = new HttpAssembler();
  const h0 = HEADERS[0]!, h1 = HEADERS[1]!;
  t.equal(a.push(seg(LINE, { seq: 300 }), 0), undefined);
  t.equal(a.push(seg(h0, { seq: 300 + LINE.length }), 1), undefined);
  t.equal(a.push(seg(h0, { seq: 300 + LINE.length }), 2), undefined, 'the header again, at its own number: ignored');
  t.equal(a.push(seg(h0, { seq: 300 + LINE.length }), 3), undefined, 'and again');
  t.equal(a.push(seg(h1, { seq: 300 + LINE.length + h0.length }), 4), undefined);
  t.equal(a.push(seg('\r\n', { seq: 300 + LINE.length + h0.length + h1.length }), 5), `${LINE}${h0}${h1}\r\n`, 'each header once');
  t.equal(a.push(seg('\r\n', { seq: 300 + LINE.length + h0.length + h1.length }), 6), undefined, 'the last piece again: no second request');
  t.equal(a.size, 0);
  // A retransmission that overlaps the next data (a resent header with more after it) is not joined either.
  const b = new HttpAssembler();
  b.push(seg(LINE, { seq: 0 }), 0);
  b.push(seg(h0, { seq: LINE.length }), 1);
  t.equal(b.push(seg(`${h0}\r\n`, { seq: LINE.length }), 2), undefined, 'resent from the old number with more: not joined');
  t.equal(b.push(seg('\r\n', { seq: LINE.length + h0.length }), 3), `${LINE}${h0}\r\n`);
  // A "GET /" starts over whatever its number: a retransmitted request line restarts the request,
  // and later pieces must follow on from it.
  const c = new HttpAssembler();
  c.push(seg(LINE, { seq: 0 }), 0);
  c.push(seg(h0, { seq: LINE.length }), 1);
  t.equal(c.push(seg(LINE, { seq: 0 }), 2), undefined, 'the request line again');
  t.equal(c.push(seg('\r\n', { seq: LINE.length + h0.length }), 3), undefined, 'the number after the old header: not joined');
  t.equal(c.push(seg('\r\n', { seq: LINE.length }), 4), `${LINE}\r\n`, 'the request from the new start');
  c.push(seg(LINE, { seq: 0 }), 5);
  t.equal(c.push(seg('GET /elsewhere\r\n', { seq: 999_999 }), 6), undefined, 'a new GET at another number');
  t.equal(c.push(seg('\r\n', { seq: LINE.length }), 7), undefined, 'the old flow\'s next number: not joined');
  t.equal(c.push(seg('\r\n', { seq: 999_999 + 'GET /elsewhere\r\n'.length }), 8), 'GET /elsewhere\r\n\r\n');
});

t.test('fuzz: random segments never throw; whatever comes back is a request, ended, and bounded', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const vocab = ['GET /', 'get /', 'GET ', 'G', '\r\n', '\n', '\r', '\r\n\r\n', '\n\n', 'User-Agent: Fwknop/2.6.10', 'Host: h', 'X: ',
    'A'.repeat(100), 'B'.repeat(1400), ' HTTP/1.1', 'POST /', ':', ' ', '\0', '\xff'];
  let returned = 0, pushes = 0, most = 0, forged = 0;
  let now = 0;
  const a = new HttpAssembler();
  // The assembler without its bounds: per flow, the text since its last "GET /" and the next number.
  const model = new Map<string, { text: string; next: number }>();
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
    // Now and then a segment outside the sender's stream: a retransmission, a reordered or a forged piece.
    const key = `${o.src} ${o.sport} ${SRV} 80`;
    const inStream = senders.get(key) ?? ISN;
    let out: number | undefined;
    if (rng.chance(0.1)) {
      out = rng.chance(0.5) ? rng.int(2 ** 32) : (inStream + (rng.chance(0.5) ? 1 : -1) * rng.range(1, 3000)) >>> 0;
      if (out === inStream) out = (out + 1) >>> 0;
      forged++;
    }
    const s = seg(payload, out === undefined ? o : { ...o, seq: out });
    const m = model.get(key);
    const get = /^get \//i.test(payload);
    if (get) model.set(key, { text: payload, next: (s.seq + payload.length) >>> 0 });
    else if (m && s.seq === m.next) model.set(key, { text: m.text + payload, next: (s.seq + payload.length) >>> 0 });
    const want = model.get(key);
    if (want && (want.text.includes('\r\n\r\n') || want.text.includes('\n\n') || want.text.length > MAX_BYTES)) model.delete(key);
    const sizeBefore = a.size;
    let r: string | undefined;
    try {
      r = a.push(s, now);
    } catch (err) {
      t.fail(`threw ${String(err)} at ${i}`);
      return;
    }
    pushes++;
    most = Math.max(most, a.size);
    if (!get && (!m || s.seq !== m.next)) {
      const ctx = JSON.stringify({ seed: SEED, i, seq: s.seq, next: m?.next, segment: payload.slice(0, 20) });
      if (r !== undefined) { t.fail(`a piece that does not follow on completed a request: ${ctx}`); return; }
      if (a.size > sizeBefore) { t.fail(`a piece that does not follow on was kept: ${ctx}`); return; }
    }
    if (r === undefined) continue;
    returned++;
    const ctx = JSON.stringify({ seed: SEED, i, start: r.slice(0, 40), length: r.length, segment: payload.length });
    if (!/^get \//i.test(r)) { t.fail(`returned text not starting "GET /": ${ctx}`); return; }
    if (r.length > MAX_BYTES + payload.length) { t.fail(`returned more than MAX_BYTES and a segment: ${ctx}`); return; }
    if (!r.includes('\r\n\r\n') && !r.includes('\n\n')) { t.fail(`returned text without the end of its headers: ${ctx}`); return; }
    if (!r.endsWith(payload)) { t.fail(`returned text does not end with the segment that completed it: ${ctx}`); return; }
    if (r !== want?.text) { t.fail(`returned text is not the flow's segments since its "GET /", each following on: ${ctx}`); return; }
  }
  t.ok(pushes > 10_000, `${pushes} segments`);
  t.ok(returned > 500, `${returned} requests returned`);
  t.ok(forged > 1000, `${forged} segments out of their stream`);
  t.ok(most <= MAX_FLOWS, `at most ${most} flows kept`);
  t.ok(most > 100, 'the bursts filled the table');
});
