#!/usr/bin/env node
// Knock to grant: time from the last knock packet leaving the client to the grant being in the
// kernel, for Sesame with `Open =` (libnftables addon, then the `nft` fallback) and for the real
// knockd 0.8 running `nft add element` as its start command, side by side.
//
//   npm run bench:knock [-- --n 100]          (root: it makes two network namespaces)
//
// A sender in the client namespace sends one UDP knock and reports when it left (monotonic
// clock, shared by all processes); a poller in the server namespace lists the set through
// libnftables until the element is there. Prints median / p95 / max in ms and ratios.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const role = args[0];
if (role === '--sender') await sender(args[1]);
else if (role === '--poller') await poller();
else await main();

/** Client side: on each line, send one UDP knock and print the send time. */
async function sender(dst) {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  for await (const line of createInterface({ input: process.stdin })) {
    const port = Number(line);
    await new Promise((r) => s.send(Buffer.from([0]), port, dst, r));
    process.stdout.write(`${process.hrtime.bigint()}\n`);
  }
  s.close();
}

/** Server side: `wait TABLE SET ADDR` polls until the element is there; `flush TABLE SET` empties it. */
async function poller() {
  const mod = await import(join(ROOT, 'node_modules/nftables-napi/index.js'));
  const { NftContext } = mod.default ?? mod;
  const ctx = new NftContext();
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, table, set, addr] = line.split(' ');
    if (cmd === 'flush') {
      await ctx.run(`flush set inet ${table} ${set}`);
      process.stdout.write('ok\n');
      continue;
    }
    const deadline = process.hrtime.bigint() + 5_000_000_000n;
    let found = 0n;
    while (process.hrtime.bigint() < deadline) {
      const r = await ctx.run(`list set inet ${table} ${set}`);
      if (r.ok && r.output.includes(addr)) { found = process.hrtime.bigint(); break; }
    }
    process.stdout.write(`${found}\n`);
  }
  ctx.close();
}

function lineReader(proc) {
  const lines = [];
  let wake;
  createInterface({ input: proc.stdout }).on('line', (l) => { lines.push(l); wake?.(); });
  return async () => {
    while (lines.length === 0) await new Promise((r) => { wake = r; setTimeout(r, 6000); });
    return lines.shift();
  };
}

async function main() {
  if (process.getuid?.() !== 0) { console.error('bench: needs root (network namespaces)'); process.exit(1); }
  const i = args.indexOf('--n');
  const n = i >= 0 ? Number(args[i + 1]) : 100;
  if (!Number.isInteger(n) || n < 5 || n > 10_000) throw new Error('--n must be an integer 5..10000');
  const srv = 'ses-bk-srv', cli = 'ses-bk-cli';
  const ip = (...a) => spawnSync('ip', a, { encoding: 'utf8' });
  const inSrv = (...a) => spawnSync('ip', ['netns', 'exec', srv, ...a], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const procs = [];
  const cleanup = () => {
    for (const p of procs) p.kill('SIGKILL');
    ip('netns', 'del', srv); ip('netns', 'del', cli);
    rmSync(dir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
  ip('netns', 'del', srv); ip('netns', 'del', cli); // leftovers of an interrupted run
  try {
    ip('netns', 'add', srv); ip('netns', 'add', cli);
    ip('link', 'add', 'bks0', 'netns', srv, 'type', 'veth', 'peer', 'name', 'bkc0', 'netns', cli);
    ip('-n', srv, 'addr', 'add', '10.77.200.1/24', 'dev', 'bks0');
    ip('-n', cli, 'addr', 'add', '10.77.200.2/24', 'dev', 'bkc0');
    for (const [ns, dev] of [[srv, 'bks0'], [cli, 'bkc0']]) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }

    const spawnIn = (ns, argv, env = {}) => {
      const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
      procs.push(p);
      return p;
    };
    const send = spawnIn(cli, [process.execPath, fileURLToPath(import.meta.url), '--sender', '10.77.200.1']);
    const poll = spawnIn(srv, [process.execPath, fileURLToPath(import.meta.url), '--poller']);
    const sent = lineReader(send), polled = lineReader(poll);

    // Each run: one daemon, one single-port UDP sequence; the grant is the element for 10.77.200.2.
    const runs = [
      { name: 'Sesame, Open, libnftables', table: 'sesame', set: 'allow4', sesame: true, env: { SESAME_NFT_BACKEND: 'native' } },
      { name: 'Sesame, Open, nft -f -', table: 'sesame', set: 'allow4', sesame: true, env: { SESAME_NFT_BACKEND: 'cli' } },
      { name: 'knockd 0.8, start_command nft', table: 'bench', set: 'allow4', sesame: false, env: {} },
    ];
    const results = [];
    for (const [k, run] of runs.entries()) {
      const port = 41000 + k;
      const log = join(dir, `${k}.log`);
      const conf = join(dir, `${k}.conf`);
      if (run.sesame) {
        writeFileSync(conf, `[options]\n\tLogFile = ${log}\n\tInterface = bks0\n` +
          `[d]\n\tSequence = ${port}:udp\n\tOpen = tcp/2222\n\tCmd_Timeout = 60\n`);
      } else {
        inSrv('nft', 'add table inet bench; add set inet bench allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }');
        writeFileSync(conf, `[options]\n\tLogFile = ${log}\n\tInterface = bks0\n[d]\n\tSequence = ${port}:udp\n` +
          '\tStart_Command = nft add element inet bench allow4 { %IP% . tcp . 2222 timeout 60s }\n');
      }
      const bin = run.sesame ? join(ROOT, 'bin/knockd') : '/usr/sbin/knockd';
      const argv = [bin, '-c', conf, '--state-dir', join(dir, `state${k}`)].slice(0, run.sesame ? 5 : 3);
      const daemon = spawnIn(srv, argv, { ...run.env, NODE: process.execPath });
      const t0 = Date.now();
      const started = () => (spawnSync('cat', [log], { encoding: 'utf8' }).stdout ?? '').includes('starting up');
      while (!started() && Date.now() - t0 < 15000) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      const ms = [];
      for (let it = 0; it < n + 3; it++) {
        poll.stdin.write(`flush ${run.table} ${run.set}\n`);
        await polled();
        poll.stdin.write(`wait ${run.table} ${run.set} 10.77.200.2\n`);
        send.stdin.write(`${port}\n`);
        const t1 = BigInt(await sent());
        const t2 = BigInt(await polled());
        if (t2 === 0n) throw new Error(`${run.name}: no grant within 5 s`);
        if (it >= 3) ms.push(Number(t2 - t1) / 1e6); // the first three warm up
        await new Promise((r) => setTimeout(r, 20));
      }
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
      if (run.sesame) inSrv('nft', 'delete table inet sesame'); else inSrv('nft', 'delete table inet bench');
      ms.sort((a, b) => a - b);
      const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
      results.push({ name: run.name, median: q(0.5), p95: q(0.95), max: ms.at(-1) });
    }
    send.stdin.end(); poll.stdin.end();
    console.log(`knock to grant in the kernel, ${n} knocks each (ms)`);
    console.log('run'.padEnd(34) + 'median'.padStart(9) + 'p95'.padStart(9) + 'max'.padStart(9));
    for (const r of results) {
      console.log(r.name.padEnd(34) + r.median.toFixed(2).padStart(9) + r.p95.toFixed(2).padStart(9) + r.max.toFixed(2).padStart(9));
    }
    const [nat, cliB, knockd] = results;
    console.log(`ratio nft fallback / libnftables: ${(cliB.median / nat.median).toFixed(1)}x (median)`);
    console.log(`ratio knockd+nft / Sesame libnftables: ${(knockd.median / nat.median).toFixed(1)}x (median)`);
  } finally {
    cleanup();
  }
}
