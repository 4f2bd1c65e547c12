// SPA_TCP_Port's server (lib/daemon/spa-tcp-server.ts) on real sockets on 127.0.0.0/8 and ::1:
// one message per connection (on end, at the blank line of an HTTP request, after a quiet spell),
// oversized messages dropped, the per-source and total bounds, 1,000 idle connections that do not
// keep a new client out, nothing ever written back, and close(). Every wait is bounded.

import t, { type Test } from 'tap';
import { connect, createServer, type Socket } from 'node:net';
import { MAX_BYTES, MAX_CONNECTIONS, MAX_PER_SOURCE, SpaTcpServer } from '../../lib/daemon/spa-tcp-server.js';
import type { SpaMessage } from '../../lib/engine/inputs.js';

/** A port free right now (the server's API takes a port and reports none back). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '::', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

interface Client { sock: Socket; received: number; closed: boolean; error?: string }
function client(port: number, host = '127.0.0.1', localAddress?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c: Client = { sock: undefined as unknown as Socket, received: 0, closed: false };
    c.sock = connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => resolve(c));
    c.sock.on('data', (d) => { c.received += d.length; });
    c.sock.on('close', () => { c.closed = true; });
    c.sock.on('error', (e: NodeJS.ErrnoException) => { c.error = e.code ?? e.message; reject(e); });
  });
}

async function start(t: Test) {
  const port = await freePort();
  const messages: SpaMessage[] = [];
  const logs: string[] = [];
  const server = await SpaTcpServer.listen(port, false, { message: (m) => messages.push(m), log: (l) => logs.push(l) });
  const clients: Client[] = [];
  const open = async (host = '127.0.0.1', localAddress?: string) => { const c = await client(port, host, localAddress); clients.push(c); return c; };
  t.teardown(async () => {
    for (const c of clients) c.sock.destroy();
    await server.close();
  });
  return { port, server, messages, logs, clients, open };
}

const RAW = 'A'.repeat(200);
const REQ = `GET /${'B'.repeat(200)} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\nAccept: */*\r\nHost: x\r\nConnection: close\r\n\r\n`;

t.test('a raw message is delivered when the client ends; the connection is closed; nothing written back', async (t) => {
  const s = await start(t);
  const c = await s.open();
  c.sock.end(RAW);
  t.ok(await until(() => s.messages.length === 1), 'delivered');
  t.same(s.messages[0], { src: '127.0.0.1', dst: '127.0.0.1', family: 4, dport: s.port, payload: RAW });
  t.ok(await until(() => c.closed), 'closed by the server');
  t.equal(c.received, 0, 'nothing written back');
  t.equal(s.server.stats.accepted, 1);
});

t.test('IPv6 on ::1; a latin1 payload byte for byte; several chunks joined', async (t) => {
  const s = await start(t);
  const c = await s.open('::1');
  const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  c.sock.write(bytes.subarray(0, 100));
  await sleep(50);
  c.sock.write(bytes.subarray(100, 200));
  await sleep(50);
  c.sock.end(bytes.subarray(200));
  t.ok(await until(() => s.messages.length === 1));
  t.same({ ...s.messages[0], payload: undefined }, { src: '::1', dst: '::1', family: 6, dport: s.port, payload: undefined });
  t.same(Buffer.from(s.messages[0]!.payload, 'latin1'), bytes);
});

t.test('an HTTP request is delivered at the blank line while the client keeps the socket open', async (t) => {
  const s = await start(t);
  const c = await s.open();
  const cut = REQ.indexOf('Accept');
  c.sock.write(REQ.slice(0, cut));
  await sleep(100);
  t.equal(s.messages.length, 0, 'not before the end of the headers (and not yet quiet)');
  const t0 = Date.now();
  c.sock.write(REQ.slice(cut));
  t.ok(await until(() => s.messages.length === 1, 2000), 'delivered');
  t.ok(Date.now() - t0 < 250, `without waiting for quiet (${Date.now() - t0} ms)`);
  t.equal(s.messages[0]!.payload, REQ);
  t.ok(await until(() => c.closed), 'and closed by the server');
  t.equal(c.received, 0, 'no HTTP answer');
});

t.test('a raw message without end is delivered after a quiet spell', async (t) => {
  const s = await start(t);
  const c = await s.open();
  c.sock.write(`${RAW}\n`);
  t.ok(await until(() => s.messages.length === 1, 2000), 'delivered');
  t.equal(s.messages[0]!.payload, `${RAW}\n`);
  t.ok(await until(() => c.closed));
});

t.test('no data: nothing delivered; oversized: closed and not delivered', async (t) => {
  const s = await start(t);
  const empty = await s.open();
  empty.sock.end();
  t.ok(await until(() => empty.closed));
  const big = await s.open();
  big.sock.on('error', () => {});
  big.sock.write('C'.repeat(MAX_BYTES + 1));
  t.ok(await until(() => big.closed), 'closed');
  t.equal(s.server.stats.oversized, 1);
  const exact = await s.open();
  exact.sock.end('D'.repeat(MAX_BYTES));
  t.ok(await until(() => s.messages.length === 1), `${MAX_BYTES} bytes are read`);
  await sleep(400);
  t.equal(s.messages.length, 1, 'only the one that fit');
  t.equal(s.messages[0]!.payload.length, MAX_BYTES);
});

t.test(`MAX_PER_SOURCE (${MAX_PER_SOURCE}): one more connection from an address closes its oldest`, async (t) => {
  const s = await start(t);
  const mine: Client[] = [];
  for (let i = 0; i < MAX_PER_SOURCE; i++) mine.push(await s.open('127.0.0.1', '127.0.0.11'));
  const other = await s.open('127.0.0.1', '127.0.0.12');
  await sleep(50);
  t.equal(mine.filter((c) => c.closed).length, 0, `${MAX_PER_SOURCE} are kept`);
  mine.push(await s.open('127.0.0.1', '127.0.0.11'));
  t.ok(await until(() => mine[0]!.closed), 'the oldest is closed');
  await sleep(50);
  t.same(mine.map((c) => c.closed), [true, ...Array(MAX_PER_SOURCE).fill(false)], 'only it');
  t.equal(other.closed, false, "another address's connection stays");
  t.equal(s.server.stats.evicted, 1);
  mine[MAX_PER_SOURCE]!.sock.end(RAW);
  t.ok(await until(() => s.messages.length === 1), 'the newest still delivers');
  t.equal(s.messages[0]!.src, '127.0.0.11');
});

t.test('1,000 idle connections do not keep a new client out; MAX_CONNECTIONS holds', async (t) => {
  const s = await start(t);
  const idle: Client[] = [];
  const started = Date.now();
  // 125 addresses x 8: within every per-source share, so only the total bound acts.
  for (let i = 0; i < 1000 && Date.now() - started < 20_000; i += 50) {
    idle.push(...await Promise.all(Array.from({ length: 50 }, (_, k) => s.open('127.0.0.1', `127.0.1.${1 + ((i + k) % 125)}`))));
  }
  t.equal(idle.length, 1000, `1000 connections made in ${Date.now() - started} ms`);
  t.ok(await until(() => idle.filter((c) => !c.closed).length <= MAX_CONNECTIONS, 5000), `at most ${MAX_CONNECTIONS} left open`);
  t.ok(s.server.stats.evicted >= 1000 - MAX_CONNECTIONS, `${s.server.stats.evicted} evicted`);
  const t0 = Date.now();
  const fresh = await s.open('127.0.0.1', '127.0.2.1');
  fresh.sock.end(RAW);
  t.ok(await until(() => s.messages.some((m) => m.src === '127.0.2.1'), 2000), 'the new client is heard');
  t.ok(Date.now() - t0 < 1000, `promptly (${Date.now() - t0} ms)`);
  t.equal(idle.reduce((n, c) => n + c.received, 0) + fresh.received, 0, 'nothing written to anyone');
  t.equal(s.messages.length, 1, 'idle connections delivered nothing');
});

t.test('close() ends every connection and stops listening', async (t) => {
  const port = await freePort();
  const messages: SpaMessage[] = [];
  const server = await SpaTcpServer.listen(port, false, { message: (m) => messages.push(m), log: () => {} });
  const cs = await Promise.all([client(port), client(port, '::1'), client(port, '127.0.0.1', '127.0.0.30')]);
  cs[0]!.sock.write('partial');
  const t0 = Date.now();
  await server.close();
  t.ok(Date.now() - t0 < 2000, 'close() resolves');
  t.ok(await until(() => cs.every((c) => c.closed), 2000), 'every connection closed');
  await sleep(400);
  t.equal(messages.length, 0, 'nothing delivered from a closed server');
  const refused = await new Promise<string>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED');
});

t.test('a port in use: a StartError naming SPA_TCP_Port', async (t) => {
  const port = await freePort();
  const first = await SpaTcpServer.listen(port, false, { message: () => {}, log: () => {} });
  t.teardown(() => first.close());
  await t.rejects(SpaTcpServer.listen(port, false, { message: () => {}, log: () => {} }), { message: `SPA_TCP_Port ${port}: cannot listen: EADDRINUSE` });
});

t.test('-4: IPv4 only', async (t) => {
  const port = await freePort();
  const messages: SpaMessage[] = [];
  const server = await SpaTcpServer.listen(port, true, { message: (m) => messages.push(m), log: () => {} });
  t.teardown(() => server.close());
  const c = await client(port);
  c.sock.end(RAW);
  t.ok(await until(() => messages.length === 1));
  t.equal(messages[0]!.family, 4);
  const v6 = await new Promise<string>((resolve) => {
    const s = connect({ port, host: '::1' });
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(v6, 'ECONNREFUSED', 'no IPv6 listener');
});
