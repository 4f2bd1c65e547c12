// Event delivery to a webhook (lib/hooks): a real HTTP receiver on 127.0.0.1 gets signed JSON it can
// verify; retries carry the same delivery id; a dead or slow receiver costs send() nothing and what
// is lost is counted. The queue's backoff and close() on a fake clock.

import t from 'tap';
import type { Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openSinks, type EventSink } from '../../lib/hooks/sinks.js';
import { DeliveryQueue, type QueueTimers } from '../../lib/hooks/delivery-queue.js';
import { Webhook, webhookUrl } from '../../lib/hooks/webhook.js';
import { HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, verifyEvent } from '../../lib/events/wire.js';
import type { SesameEvent } from '../../lib/events/types.js';

interface Got { readonly headers: http.IncomingHttpHeaders; readonly body: string; readonly method: string }
type Answer = number | 'hang';

/** A receiver on 127.0.0.1: `answer(n)` says what the n-th request (1-based) gets; 'hang' answers after 10 s. */
async function receiver(t: Test, answer: (n: number) => Answer = () => 200) {
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), method: req.method ?? '' });
      const a = answer(got.length);
      if (a === 'hang') { setTimeout(() => res.end('late'), 10_000).unref(); return; }
      res.statusCode = a;
      res.end(a === 200 ? 'thanks' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const grant: SesameEvent = { type: 'grant', door: 'ssh', kind: 'spa', address: '192.0.2.7', ports: ['tcp/22'], seconds: 30 };
const secret = Buffer.from('0123456789abcdef-webhook');
const fast = { backoffMs: 10, timeoutMs: 1000 };

function sinks(t: Test, o: Partial<Parameters<typeof openSinks>[0]>, lines: string[] = []): EventSink {
  const s = openSinks({ node: 'bastion-1', log: (l) => lines.push(l), ...o });
  t.teardown(() => s.close(0));
  return s;
}

t.test('a grant arrives as signed JSON the receiver verifies', async (t) => {
  const r = await receiver(t);
  const s = sinks(t, { webhook: { url: r.url, secret }, queue: fast });
  const wall = Date.now();
  s.send(grant, wall);
  s.send({ type: 'stage', door: 'ssh', stage: 1 }, wall);
  await until(() => r.got.length === 1 && s.stats()[0]!.delivered === 1);
  const g = r.got[0]!;
  t.equal(g.method, 'POST');
  t.equal(g.headers['content-type'], 'application/json');
  t.equal(g.headers['user-agent'], 'sesame');
  t.equal(g.headers[HEADER_EVENT.toLowerCase()], 'grant');
  t.match(g.headers[HEADER_DELIVERY.toLowerCase()], /^[0-9a-f-]{36}$/);
  const ts = g.headers[HEADER_TIMESTAMP.toLowerCase()] as string;
  t.ok(Math.abs(Number(ts) - Date.now() / 1000) < 5, 'the timestamp is now');
  t.ok(verifyEvent(secret, ts, g.body, g.headers[HEADER_SIGNATURE.toLowerCase()] as string, Date.now() / 1000), 'verified');
  t.notOk(verifyEvent(Buffer.from('not the secret at all'), ts, g.body, g.headers[HEADER_SIGNATURE.toLowerCase()] as string,
    Date.now() / 1000), 'not with another secret');
  const body = JSON.parse(g.body);
  t.same(body, {
    version: 1, type: 'grant', time: new Date(wall).toISOString(), node: 'bastion-1',
    delivery: g.headers[HEADER_DELIVERY.toLowerCase()], door: 'ssh', kind: 'spa',
    address: '192.0.2.7', ports: ['tcp/22'], seconds: 30, expires: new Date(wall + 30_000).toISOString(),
  }, 'the delivery id is in the body too, under the signature');
  await new Promise((res) => setTimeout(res, 50));
  t.equal(r.got.length, 1, "a 'stage' is not delivered");
  t.same(s.stats(), [{ sink: 'webhook', delivered: 1, dropped: 0 }]);
});

t.test('without a secret: no signature header', async (t) => {
  const r = await receiver(t);
  const s = sinks(t, { webhook: { url: r.url }, queue: fast });
  s.send({ type: 'fleet-redis', up: false }, Date.now());
  await until(() => r.got.length === 1);
  t.equal(r.got[0]!.headers[HEADER_SIGNATURE.toLowerCase()], undefined);
  t.equal(JSON.parse(r.got[0]!.body).up, false);
});

t.test('500, 500, 200: the same delivery id three times, delivered once', async (t) => {
  const r = await receiver(t, (n) => (n <= 2 ? 500 : 200));
  const lines: string[] = [];
  const s = sinks(t, { webhook: { url: r.url, secret }, queue: fast }, lines);
  s.send({ type: 'ban', door: 'ssh', address: '198.51.100.9', seconds: 600, failures: 3 }, Date.now());
  await until(() => s.stats()[0]!.delivered === 1);
  t.equal(r.got.length, 3);
  const ids = r.got.map((g) => g.headers[HEADER_DELIVERY.toLowerCase()]);
  t.equal(new Set(ids).size, 1, 'one delivery id');
  t.same(r.got.map((g) => g.body), [r.got[0]!.body, r.got[0]!.body, r.got[0]!.body], 'the same body');
  for (const g of r.got) {
    t.ok(verifyEvent(secret, g.headers[HEADER_TIMESTAMP.toLowerCase()] as string, g.body,
      g.headers[HEADER_SIGNATURE.toLowerCase()] as string, Date.now() / 1000), 'each attempt signed');
  }
  t.equal(s.dropped, 0);
  t.same(lines, ['event webhook: delivery failed (HTTP 500); 0 events dropped so far'], 'one line a minute');
});

t.test('an endpoint that is down: retried, then counted as dropped', async (t) => {
  const port = await closedPort();
  const lines: string[] = [];
  const s = openSinks({ node: 'n', log: (l) => lines.push(l), webhook: { url: `http://127.0.0.1:${port}/` }, queue: fast });
  const started = Date.now();
  s.send(grant, Date.now());
  s.send({ type: 'firewall-repaired', what: 'table', detail: 'gone' }, Date.now());
  await until(() => s.dropped === 2);
  const elapsed = Date.now() - started;
  t.ok(elapsed >= 10 + 20 + 40 + 80, `backed off 10+20+40+80 ms before giving up (${elapsed} ms)`);
  t.same(s.stats(), [{ sink: 'webhook', delivered: 0, dropped: 2 }]);
  t.equal(lines.length, 1, 'one line within the minute');
  t.match(lines[0], /^event webhook: delivery failed \(.*ECONNREFUSED.*\); 0 events dropped so far$/);
  await s.close(100);
  t.equal(lines.length, 2, 'what was not logged is said at close');
  t.match(lines[1], /; 2 events dropped so far$/);
  s.send(grant, Date.now());
  t.equal(s.dropped, 3, 'after close: dropped');
});

t.test('an endpoint that answers after 10 s: send() costs nothing, attempts time out and are counted', async (t) => {
  const r = await receiver(t, () => 'hang');
  const lines: string[] = [];
  const s = openSinks({ node: 'n', log: (l) => lines.push(l), webhook: { url: r.url }, queue: { timeoutMs: 100, backoffMs: 10, attempts: 2 } });
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) s.send({ ...grant, address: `10.0.${i >> 8}.${i & 255}` }, Date.now());
  const took = performance.now() - t0;
  t.ok(took < 50, `1000 sends in ${took.toFixed(1)} ms`);
  t.equal(s.dropped, 0, 'all held');
  await until(() => lines.length > 0, 2000);
  t.match(lines[0], /^event webhook: delivery failed \(timed out after 100 ms\); 0 events dropped so far$/);
  const c0 = performance.now();
  await s.close(150);
  t.ok(performance.now() - c0 < 1000, 'close waits no longer than its grace');
  t.equal(s.dropped, 1000, 'all counted as dropped');
  t.same(s.stats()[0]!.delivered, 0);
  t.ok(r.got.length >= 2 && r.got.length <= 10, `at most 2 at once (${r.got.length} requests)`);
  // A few events: each attempt times out, then each event is counted.
  const few = sinks(t, { webhook: { url: r.url }, queue: { timeoutMs: 100, backoffMs: 10, attempts: 2 } });
  for (let i = 0; i < 3; i++) few.send(grant, Date.now());
  await until(() => few.dropped === 3, 3000);
  t.same(few.stats(), [{ sink: 'webhook', delivered: 0, dropped: 3 }], 'timed out twice each, dropped');
});

t.test('a full queue: the rest is dropped and counted at once', async (t) => {
  const r = await receiver(t, () => 'hang');
  const s = sinks(t, { webhook: { url: r.url }, queue: { capacity: 5, timeoutMs: 5000 } });
  for (let i = 0; i < 12; i++) s.send(grant, Date.now());
  t.equal(s.dropped, 7, '12 sent, 5 held');
  await until(() => r.got.length === 2);
  s.send(grant, Date.now());
  t.equal(s.dropped, 8, 'still full while 2 are in flight and 3 wait');
});

t.test('spa-refused becomes one refusals event', async (t) => {
  const r = await receiver(t);
  const s = sinks(t, { webhook: { url: r.url }, queue: fast });
  for (let i = 0; i < 500; i++) s.send({ type: 'spa-refused', reason: i % 5 === 0 ? 'replay' : 'hmac' }, Date.now());
  await until(() => r.got.length === 1, 3000);
  const body = JSON.parse(r.got[0]!.body);
  t.equal(body.type, 'refusals');
  t.same(body.counts, { hmac: 400, replay: 100 });
  t.ok(body.seconds >= 1);
  await new Promise((res) => setTimeout(res, 1100));
  t.equal(r.got.length, 1, 'no more within the minute');
});

t.test('the POST itself: redirects are not followed, a long answer is cut short', async (t) => {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    if (req.url === '/moved') { res.writeHead(302, { Location: '/elsewhere' }); res.end(); return; }
    if (req.url === '/big') { res.writeHead(200); res.end(Buffer.alloc(4 << 20, 0x61)); return; }
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string) => {
    const hook = new Webhook(webhookUrl(base + path));
    return hook.post('{}', {}, new AbortController().signal).finally(() => hook.close());
  };
  await t.rejects(post('/moved'), /HTTP 302/, 'a 3xx is a failure');
  await post('/big');
  t.pass('a 4 MiB answer: success on its status, the rest not read');
  await post('/ok');
  t.same(paths, ['/moved', '/big', '/ok'], 'the redirect target was not asked for');
  const ac = new AbortController();
  ac.abort();
  await t.rejects(new Webhook(webhookUrl(base)).post('{}', {}, ac.signal), /aborted/);
});

t.test('a bad URL is a start error; no sink is a sink that does nothing', async (t) => {
  t.throws(() => openSinks({ node: 'n', log: () => {}, webhook: { url: 'ftp://example.com/' } }), /not an http/);
  t.throws(() => openSinks({ node: 'n', log: () => {}, webhook: { url: 'example.com' } }), /not a URL/);
  const none = openSinks({ node: 'n', log: () => {} });
  none.send(grant, Date.now());
  t.equal(none.dropped, 0);
  t.same(none.stats(), []);
  await none.close();
});

/** Timers on a clock the test moves. */
class FakeTimers implements QueueTimers {
  now = 0;
  private q: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  set(fn: () => void, ms: number) { const id = ++this.ids; this.q.push({ at: this.now + ms, fn, id }); return id; }
  clear(h: unknown) { this.q = this.q.filter((x) => x.id !== h); }
  async advance(ms: number) {
    const end = this.now + ms;
    for (;;) {
      await flush();
      this.q.sort((a, b) => a.at - b.at);
      const next = this.q[0];
      if (!next || next.at > end) break;
      this.q.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = end;
    await flush();
  }
}
const flush = async () => { for (let i = 0; i < 5; i++) await Promise.resolve(); };

t.test('the queue: 5 attempts, 1, 2, 4, 8 s apart; each under its timeout', async (t) => {
  const clock = new FakeTimers();
  const at: number[] = [];
  const q = new DeliveryQueue<string>(async () => { at.push(clock.now); throw new Error('no'); }, { timers: clock });
  q.push('e');
  await clock.advance(60_000);
  t.same(at, [0, 1000, 3000, 7000, 15_000]);
  t.equal(q.dropped, 1);
  const hung: number[] = [];
  const aborted: number[] = [];
  const q2 = new DeliveryQueue<string>((_e, signal) => new Promise(() => {
    hung.push(clock.now);
    signal.addEventListener('abort', () => aborted.push(clock.now));
  }), { timers: clock, timeoutMs: 5000 });
  const base = clock.now;
  q2.push('e');
  await clock.advance(60_000);
  t.same(hung.map((x) => x - base), [0, 6000, 13_000, 22_000, 35_000], 'a 5 s timeout, then the backoff');
  t.same(aborted.map((x) => x - base), [5000, 11_000, 18_000, 27_000, 40_000], 'each attempt aborted at its timeout');
  t.equal(q2.dropped, 1);
});

t.test('the queue: concurrency, a throwing deliverer, close with a grace', async (t) => {
  const clock = new FakeTimers();
  let running = 0;
  let most = 0;
  const q = new DeliveryQueue<number>((n) => {
    if (n === 13) throw new Error('sync throw');
    running++;
    most = Math.max(most, running);
    return new Promise((resolve) => clock.set(() => { running--; resolve(); }, 100));
  }, { timers: clock, concurrency: 3 });
  for (let i = 0; i < 20; i++) q.push(i);
  await clock.advance(60_000);
  t.equal(most, 3, 'at most 3 at once');
  t.equal(q.delivered, 19);
  t.equal(q.dropped, 1, 'the one whose deliverer threw: 5 attempts, then dropped');
  t.equal(q.held, 0);
  // close: in flight gets its grace; the rest is dropped when the grace ends.
  const slow = new DeliveryQueue<number>(() => new Promise(() => {}), { timers: clock, concurrency: 1, timeoutMs: 60_000 });
  for (let i = 0; i < 4; i++) slow.push(i);
  await flush();
  let closed = false;
  void slow.close(1000).then(() => { closed = true; });
  await clock.advance(999);
  t.notOk(closed, 'waits for the grace');
  await clock.advance(1);
  t.ok(closed, 'then gives up');
  t.equal(slow.dropped, 4);
  slow.push(9);
  t.equal(slow.dropped, 5, 'closed: dropped');
  // close with nothing in flight resolves at once; a failure during close is not retried.
  const quick = new DeliveryQueue<number>(() => Promise.reject(new Error('no')), { timers: clock });
  quick.push(1);
  await flush();
  await clock.advance(0);
  t.equal(quick.held, 1, 'waiting for its retry');
  await quick.close(5000);
  t.equal(quick.dropped, 1, 'one last attempt at close, then dropped');
});
