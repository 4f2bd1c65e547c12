// What the namespace benchmarks share: the repository root and flood generator, argv options,
// shell calls, and the CPU and memory of a daemon's whole process tree (from /proc).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** bench/flood-gen.c, compiled by buildGen() (below) when a benchmark starts. */
export const GEN = join(ROOT, 'bench/.build/flood-gen');

export function buildGen() {
  sh('mkdir', ['-p', join(ROOT, 'bench/.build')]);
  sh('cc', ['-O2', '-o', GEN, join(ROOT, 'bench/flood-gen.c')]);
}

/** `--name value` from argv, else `dflt`. */
export const opt = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const readIf = (p) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

/** Runs a command; its stdout, or throws with its stderr unless `allowFail`. */
export function sh(cmd, args, allowFail = false) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The process and its descendants (the capture child, commands). */
export function tree(pid) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

/** User + system CPU seconds of these processes so far. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

export function rssMB(pids) {
  let kb = 0;
  for (const p of pids) {
    try { kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
  }
  return kb / 1024;
}

/** The kernel's unreclaimable slab and vmalloc memory (nft set elements and hash tables), MB; machine-wide. */
export function kernelMB() {
  const m = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(m)?.[1] ?? 0);
  return (kb('SUnreclaim') + kb('VmallocUsed')) / 1024;
}
