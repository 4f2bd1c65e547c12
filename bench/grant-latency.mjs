#!/usr/bin/env node
// Grant latency, libnftables addon against `nft -f -`, side by side.
//
//   npm run bench:grants [-- --n 200 --warmup 20]      (root: it makes a network namespace)
//
// Runs the compiled dist/firewall code in a throw-away namespace (nft acts on the caller's
// namespace) and, for each backend in turn on every iteration, measures
//   grant:         GrantTable.grant() of one new element until nft has acknowledged the batch
//                  (the netlink transaction is committed: the element is in the kernel);
//   grant + check: the same, then `get element` through the same backend finds it.
// Prints median / p95 / max in ms and the ratio nft / libnftables. No packets are sent.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1 || v > 100_000) throw new Error(`--${name} must be an integer 1..100000`);
  return v;
};

if (!args.includes('--inside')) outside();
else await inside();

/** Makes the namespace, runs this script in it, deletes the namespace whatever happens. */
function outside() {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (it creates a network namespace)');
    process.exit(1);
  }
  const ns = `ses-bench-${process.pid}`;
  const ip = (...a) => spawnSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const del = () => ip('netns', 'del', ns);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { del(); process.exit(130); });
  const made = ip('netns', 'add', ns);
  if (made.status !== 0) {
    console.error(`bench: ip netns add ${ns}: ${made.stderr.trim()}`);
    process.exit(1);
  }
  let status = 1;
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--inside', ...args], {
      stdio: 'inherit', timeout: 600_000,
    });
    status = r.status ?? 1;
  } finally {
    del();
  }
  process.exit(status);
}

async function inside() {
  const n = opt('n', 200);
  const warmup = opt('warmup', 20);
  const { CliBackend, loadNativeBackend } = await import(join(ROOT, 'dist/firewall/backend.js'));
  const { GrantTable } = await import(join(ROOT, 'dist/firewall/grants.js'));

  let native;
  try {
    native = await loadNativeBackend();
  } catch (err) {
    console.error(`bench: nftables-napi does not load (${String(err.message).split('\n')[0]}); run npm ci`);
    process.exit(1);
  }
  const runs = [
    { label: 'libnftables', backend: native, net: 98 },
    { label: 'nft -f -', backend: new CliBackend(), net: 99 },
  ].map((r) => ({ ...r, table: new GrantTable(r.backend, 'sesbench'), grant: [], checked: [] }));

  // One table; each backend grants its own addresses (10.98.x.y, 10.99.x.y), all new.
  await runs[0].table.install([{ proto: 'tcp', port: 22 }]);
  const address = (net, i) => `10.${net}.${(i >> 8) & 255}.${i & 255}`;

  const total = warmup + n;
  for (let i = 0; i < total; i++) {
    for (const r of runs) {
      const g = { address: address(r.net, i), proto: 'tcp', port: 22, timeout: 600 };
      const t0 = performance.now();
      await r.table.grant([g]);
      const t1 = performance.now();
      await r.backend.run(`get element inet sesbench allow4 { ${g.address} . tcp . 22 }\n`);
      const t2 = performance.now();
      if (i >= warmup) { r.grant.push(t1 - t0); r.checked.push(t2 - t0); }
    }
  }
  const present = (await runs[0].table.list()).length;
  await runs[0].table.flush();
  native.close();

  const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const ms = (x) => `${x.toFixed(3)} ms`.padStart(11);
  console.log(`grant latency: ${n} grants per backend (after ${warmup} warm-up), one new element each, in a fresh namespace`);
  console.log(`node ${process.version}, ${present} elements in the set at the end (expected ${2 * total})\n`);
  console.log(`${'backend'.padEnd(13)} ${'measure'.padEnd(14)} ${'median'.padStart(11)} ${'p95'.padStart(11)} ${'max'.padStart(11)}`);
  for (const r of runs) {
    for (const [what, xs] of [['grant', r.grant], ['grant + check', r.checked]]) {
      console.log(`${r.label.padEnd(13)} ${what.padEnd(14)} ${ms(q(xs, 0.5))} ${ms(q(xs, 0.95))} ${ms(Math.max(...xs))}`);
    }
  }
  const [a, b] = runs;
  console.log('');
  for (const [what, key] of [['grant', 'grant'], ['grant + check', 'checked']]) {
    const median = (q(b[key], 0.5) / q(a[key], 0.5)).toFixed(1), p95 = (q(b[key], 0.95) / q(a[key], 0.95)).toFixed(1);
    console.log(`ratio nft / libnftables, ${what}: median ${median}x, p95 ${p95}x`);
  }
  if (present !== 2 * total) process.exitCode = 1;
}
