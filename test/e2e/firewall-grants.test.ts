// The grant table against the kernel, in namespaces, with both backends (libnftables addon and
// nft -f -): real TCP and UDP services in the server namespace, real connections from the client
// namespace. nft acts on the namespace of the process that calls it, so the firewall code runs in
// an agent process started with `ip netns exec` (the compiled dist/firewall), as do the services
// and the client's probes. Every agent call and every wait is bounded.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Lab, ROOT, sh, sleep } from '../helpers/lab.js';

t.setTimeout(300_000);
const lab = new Lab(20, 'fw');
const TABLE = 'sesame';
const GUARDED_TCP = 2222;
const OPEN_TCP = 2223; // not guarded: always reachable
const GUARDED_UDP = 5353;

// One script for every agent: JSON requests on stdin, JSON answers on stdout.
const AGENT = String.raw`
import net from 'node:net';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
const dist = process.env.FW_DIST;
const held = new Map();
let nextId = 1;
let table;
const ops = {
  async open({ table: name }) {
    const { openBackend } = await import(dist + '/firewall/backend.js');
    const { GrantTable } = await import(dist + '/firewall/grants.js');
    const log = [];
    const backend = await openBackend((l) => log.push(l));
    table = new GrantTable(backend, name);
    return { backend: backend.name, log };
  },
  install: ({ guards }) => table.install(guards),
  grant: ({ grants }) => table.grant(grants),
  list: () => table.list(),
  flush: () => table.flush(),
  serve({ tcp, udp }) {
    return Promise.all([
      ...tcp.map((port) => new Promise((res, rej) => {
        const s = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
        s.on('error', rej).listen({ port, host: '::', ipv6Only: false }, res);
      })),
      ...udp.map((port) => new Promise((res, rej) => {
        const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
        s.on('message', (m, r) => s.send(m, r.port, r.address));
        s.on('error', rej).bind(port, '::', res);
      })),
    ]).then(() => 'serving');
  },
  // A new TCP connection: 'open', 'refused' or 'timeout'.
  tcp({ host, port, ms, from }) {
    return new Promise((res) => {
      const c = net.connect({ host, port, ...(from ? { localAddress: from } : {}) });
      const done = (v) => { clearTimeout(timer); c.destroy(); res(v); };
      const timer = setTimeout(() => done('timeout'), ms);
      c.on('connect', () => done('open'));
      c.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error ' + e.code));
    });
  },
  // Opens a TCP connection and keeps it; echo() uses it.
  hold({ host, port, ms }) {
    return new Promise((res, rej) => {
      const c = net.connect({ host, port });
      const timer = setTimeout(() => { c.destroy(); rej(new Error('hold: connect timeout')); }, ms);
      c.on('error', () => {});
      c.on('connect', () => { clearTimeout(timer); const id = nextId++; held.set(id, { kind: 'tcp', c }); res(id); });
    });
  },
  // One datagram from a socket of its own (a new flow): 'reply' or 'none'.
  async udp({ host, port, ms, from }) {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      if (from) await new Promise((res) => s.bind({ address: from, port: 0 }, res));
      return await ops.ask({ s, host, port, ms });
    } finally { s.close(); }
  },
  // A UDP socket kept open (one flow); echo() uses it.
  async udpHold({ host, port }) {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const id = nextId++;
    held.set(id, { kind: 'udp', s, host, port });
    return id;
  },
  ask({ s, host, port, ms }) {
    return new Promise((res) => {
      const text = 'u' + Math.random();
      const onMsg = (m) => { if (m.toString() === text) done('reply'); };
      const done = (v) => { clearTimeout(timer); s.off('message', onMsg); res(v); };
      const timer = setTimeout(() => done('none'), ms);
      s.on('message', onMsg);
      s.send(text, port, host);
    });
  },
  // Sends a line on a held connection or flow: 'reply' when it comes back, else 'none'.
  echo({ id, ms }) {
    const h = held.get(id);
    if (h.kind === 'udp') return ops.ask({ s: h.s, host: h.host, port: h.port, ms });
    return new Promise((res) => {
      const text = 't' + Math.random() + '\n';
      let got = '';
      const onData = (d) => { got += d; if (got.includes(text)) done('reply'); };
      const done = (v) => { clearTimeout(timer); h.c.off('data', onData); res(v); };
      const timer = setTimeout(() => done('none'), ms);
      h.c.setEncoding('utf8').on('data', onData);
      h.c.write(text);
    });
  },
  release({ id }) {
    const h = held.get(id);
    held.delete(id);
    if (h?.kind === 'tcp') h.c.destroy();
    if (h?.kind === 'udp') h.s.close();
  },
};
createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, op, args } = JSON.parse(line);
  try {
    const result = await ops[op](args ?? {});
    process.stdout.write(JSON.stringify({ id, ok: true, result: result ?? null }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ id, ok: false, error: String(e && e.message || e) }) + '\n');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

class Agent {
  private readonly proc: ChildProcess;
  private readonly waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  private n = 0;
  stderr = '';

  constructor(ns: string, env: Record<string, string> = {}) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', AGENT], {
      env: { ...process.env, FW_DIST: join(ROOT, 'dist'), ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) w?.res(m.result);
      else w?.rej(new Error(m.error));
    });
    this.proc.on('exit', () => {
      for (const w of this.waiting.values()) w.rej(new Error(`agent in ${ns} exited: ${this.stderr}`));
      this.waiting.clear();
    });
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, ms = 15_000): Promise<T> {
    const id = ++this.n;
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => { this.waiting.delete(id); rej(new Error(`agent: ${op} took over ${ms} ms`)); }, ms);
      this.waiting.set(id, {
        res: (v) => { clearTimeout(timer); res(v as T); },
        rej: (e) => { clearTimeout(timer); rej(e); },
      });
      this.proc.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  kill(): void {
    try { this.proc.kill('SIGKILL'); } catch { /* gone */ }
  }
}

interface Grant { address: string; protocol: 'tcp' | 'udp'; port: number; timeout: number; expires?: number }

const agents: Agent[] = [];
const agent = (ns: string, env?: Record<string, string>) => { const a = new Agent(ns, env); agents.push(a); return a; };
t.teardown(() => {
  for (const a of agents) a.kill();
  lab.cleanup();
});

if (process.getuid?.() !== 0) {
  t.fail('end-to-end tests need root (network namespaces, nftables)');
} else {
  lab.up();
  const services = agent(lab.srv);
  const client = agent(lab.cli);
  t.before(async () => {
    await services.call('serve', { tcp: [GUARDED_TCP, OPEN_TCP], udp: [GUARDED_UDP] });
  });

  const tcp = (host: string, port = GUARDED_TCP, ms = 800, from?: string) => client.call<string>('tcp', { host, port, ms, from });
  const udp = (host: string, port = GUARDED_UDP, ms = 800, from?: string) => client.call<string>('udp', { host, port, ms, from });

  for (const want of ['native', 'cli'] as const) {
    t.test(`backend ${want}`, async (t) => {
      const fw = agent(lab.srv, { SESAME_NFT_BACKEND: want });
      const opened = await fw.call<{ backend: string; log: string[] }>('open', { table: TABLE });
      t.equal(opened.backend, want === 'native' ? 'libnftables' : 'nft', 'the asked-for backend');
      t.match(opened.log.join('\n'), want === 'native' ? /using libnftables \(nftables-napi\)/ : /using nft -f -/);
      const list = () => fw.call<Grant[]>('list');
      const find = (gs: Grant[], address: string, proto: string, port: number) =>
        gs.filter((g) => g.address === address && g.protocol === proto && g.port === port);
      /** Waits (bounded) until the kernel has expired a grant. */
      const gone = async (address: string, proto: string, port: number, ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          if (find(await list(), address, proto, port).length === 0) return true;
          await sleep(100);
        }
        return false;
      };
      t.teardown(() => fw.kill());

      await fw.call('flush');
      t.same(await list(), [], 'no table, no grants');

      await t.test('before install everything is reachable; after it guarded ports are closed', async (t) => {
        t.equal(await tcp(lab.server4), 'open');
        t.equal(await udp(lab.server4), 'reply');
        await fw.call('install', { guards: [{ protocol: 'tcp', port: GUARDED_TCP }, { protocol: 'udp', port: GUARDED_UDP }] });
        t.equal(await tcp(lab.server4), 'timeout', 'TCP 2222 dropped');
        t.equal(await udp(lab.server4), 'none', 'UDP 5353 dropped');
        t.equal(await tcp(lab.server6), 'timeout', 'TCP 2222 dropped (IPv6)');
        t.equal(await udp(lab.server6), 'none', 'UDP 5353 dropped (IPv6)');
        t.equal(await tcp(lab.server4, OPEN_TCP), 'open', 'an unguarded port stays open');
        t.equal(await tcp(lab.server6, OPEN_TCP), 'open', 'an unguarded port stays open (IPv6)');
      });

      for (const v of [4, 6] as const) {
        await t.test(`IPv${v}: a grant opens, expiry closes new connections, established ones live on`, async (t) => {
          const server = v === 4 ? lab.server4 : lab.server6;
          const source = v === 4 ? lab.client4 : lab.client6;
          const t0 = Date.now();
          await fw.call('grant', { grants: [
            { address: source, protocol: 'tcp', port: GUARDED_TCP, timeout: 3 },
            { address: source, protocol: 'udp', port: GUARDED_UDP, timeout: 3 },
          ] });
          const listed = await list();
          t.same(find(listed, source, 'tcp', GUARDED_TCP).map((g) => g.timeout), [3], 'list shows the TCP grant');
          t.same(find(listed, source, 'udp', GUARDED_UDP).map((g) => g.timeout), [3], 'list shows the UDP grant');
          t.ok(find(listed, source, 'tcp', GUARDED_TCP)[0]!.expires! >= 1, 'with time left');
          t.equal(await tcp(server), 'open', 'TCP connects');
          t.equal(await udp(server), 'reply', 'UDP answers');
          const conn = await client.call<number>('hold', { host: server, port: GUARDED_TCP, ms: 1500 });
          const flow = await client.call<number>('udpHold', { host: server, port: GUARDED_UDP });
          t.equal(await client.call('echo', { id: flow, ms: 800 }), 'reply', 'UDP flow answered');
          t.equal(await client.call('echo', { id: conn, ms: 800 }), 'reply', 'TCP connection echoes');
          if (v === 4) {
            t.equal(await tcp(server, GUARDED_TCP, 800, lab.client4b), 'timeout', 'another source (client4b) is still dropped');
            t.equal(await udp(server, GUARDED_UDP, 800, lab.client4b), 'none', 'also for UDP');
          }
          t.ok(await gone(source, 'tcp', GUARDED_TCP, 6000), 'the kernel expired the TCP grant');
          t.ok(await gone(source, 'udp', GUARDED_UDP, 2000), 'and the UDP grant');
          t.ok(Date.now() - t0 >= 2000, `not long before its 3 s (${Date.now() - t0} ms)`);
          t.equal(await tcp(server), 'timeout', 'a new TCP connection is dropped');
          t.equal(await udp(server), 'none', 'a new UDP flow is dropped');
          t.equal(await client.call('echo', { id: conn, ms: 800 }), 'reply', 'the established TCP connection lives on');
          t.equal(await client.call('echo', { id: flow, ms: 800 }), 'reply', 'the established UDP flow lives on');
          await client.call('release', { id: conn });
          await client.call('release', { id: flow });
        });
      }

      await t.test('granting twice: one element, timer refreshed', async (t) => {
        const g = { address: lab.client4, protocol: 'tcp', port: GUARDED_TCP, timeout: 30 };
        const g6 = { address: lab.client6, protocol: 'udp', port: GUARDED_UDP, timeout: 30 };
        await fw.call('grant', { grants: [g, g6] });
        await sleep(3200);
        const before = await list();
        t.equal(find(before, g.address, 'tcp', GUARDED_TCP).length, 1);
        t.ok(find(before, g.address, 'tcp', GUARDED_TCP)[0]!.expires! <= 26, 'the timer ran');
        await fw.call('grant', { grants: [g, g6] });
        const after = await list();
        t.same(find(after, g.address, 'tcp', GUARDED_TCP).map((x) => x.timeout), [30], 'still one element');
        t.ok(find(after, g.address, 'tcp', GUARDED_TCP)[0]!.expires! >= 28, `refreshed (${JSON.stringify(find(after, g.address, 'tcp', GUARDED_TCP))})`);
        t.same(find(after, g6.address, 'udp', GUARDED_UDP).map((x) => x.timeout), [30], 'IPv6: still one element');
        t.ok(find(after, g6.address, 'udp', GUARDED_UDP)[0]!.expires! >= 28, 'IPv6: refreshed');
        t.equal(after.length, 2, 'nothing else');
        t.equal(await tcp(lab.server4), 'open');
        t.equal(await udp(lab.server6), 'reply');
      });

      await t.test('install again (a daemon restart) keeps the grants, replaces the guards', async (t) => {
        const before = await list();
        await fw.call('install', { guards: [{ protocol: 'tcp', port: GUARDED_TCP }, { protocol: 'udp', port: GUARDED_UDP }] });
        await fw.call('install', { guards: [{ protocol: 'tcp', port: GUARDED_TCP }, { protocol: 'udp', port: GUARDED_UDP }] });
        const after = await list();
        t.same(after.map((g) => [g.address, g.protocol, g.port, g.timeout]), before.map((g) => [g.address, g.protocol, g.port, g.timeout]), 'same grants, none twice');
        t.equal(await tcp(lab.server4), 'open', 'granted source still gets in');
        const rules = lab.exec(lab.srv, ['nft', 'list', 'chain', 'inet', TABLE, 'input']);
        t.equal(rules.split('\n').filter((l) => /^\s*(ct|meta) .*(accept|drop)$/.test(l)).length, 4, 'rules not duplicated');
        // Guards are replaced: with only TCP guarded, UDP is open to everybody.
        await fw.call('install', { guards: [{ protocol: 'tcp', port: OPEN_TCP }] });
        t.equal(await tcp(lab.server4, OPEN_TCP), 'timeout', 'the new guard drops (client4 has no grant for 2223)');
        t.equal(await tcp(lab.server6, GUARDED_TCP), 'open', 'the old guard is gone');
        t.equal((await list()).length, before.length, 'grants still there');
        await fw.call('install', { guards: [{ protocol: 'tcp', port: GUARDED_TCP }, { protocol: 'udp', port: GUARDED_UDP }] });
      });

      await t.test('flush removes the table; flushing again is fine', async (t) => {
        await fw.call('flush');
        t.notMatch(lab.exec(lab.srv, ['nft', 'list', 'tables']), new RegExp(`inet ${TABLE}\\b`));
        t.same(await list(), []);
        await fw.call('flush');
        t.equal(await tcp(lab.server4), 'open', 'no firewall left');
        t.equal(await udp(lab.server6), 'reply');
      });

      await t.test('bad input is refused before anything reaches nft', async (t) => {
        await fw.call('install', { guards: [{ protocol: 'tcp', port: GUARDED_TCP }] });
        await t.rejects(fw.call('grant', { grants: [
          { address: lab.client4, protocol: 'tcp', port: GUARDED_TCP, timeout: 5 },
          { address: `${lab.client4} . tcp . 2222 }; flush ruleset; add table inet x {`, protocol: 'tcp', port: GUARDED_TCP, timeout: 5 },
        ] }), /not an IP address/);
        t.same(await list(), [], 'nothing granted, not even the good one');
        await fw.call('flush');
      });
    });
  }

  t.test('nothing left behind in the server namespace', async (t) => {
    t.equal(sh('ip', ['netns', 'exec', lab.srv, 'nft', 'list', 'ruleset']).trim(), '');
  });
}
