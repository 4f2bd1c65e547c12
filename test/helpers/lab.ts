// A throw-away network for end-to-end tests: a server and a client namespace joined by a veth
// pair, IPv4 10.77.N.0/24 and IPv6 fd77:N::/64. Each test file picks its own N, so files can run
// in parallel. Everything is deleted in teardown, also when a test fails.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const SESAME = join(ROOT, 'bin/knockd');
export const REAL_KNOCKD = '/usr/sbin/knockd';
export const PROBE = join(ROOT, 'test/helpers/netprobe.py');
const RAWTCP = join(ROOT, 'test/helpers/rawtcp.py');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

export interface Daemon {
  readonly proc: ChildProcess;
  readonly log: string;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

export class Lab {
  readonly srv: string;
  readonly cli: string;
  readonly sif: string;
  readonly cif: string;
  readonly server4: string;
  readonly server6: string;
  readonly client4: string;
  readonly client4b: string;
  readonly client6: string;
  readonly dir: string;
  private readonly daemons = new Set<Daemon>();

  /** `n` (1..250) picks names and subnets; `tag` is a short unique word for interface names. */
  constructor(readonly n: number, readonly tag: string) {
    this.srv = `ses-${tag}-srv`;
    this.cli = `ses-${tag}-cli`;
    this.sif = `${tag}s0`;
    this.cif = `${tag}c0`;
    this.server4 = `10.77.${n}.1`;
    this.client4 = `10.77.${n}.2`;
    this.client4b = `10.77.${n}.3`;
    this.server6 = `fd77:${n}::1`;
    this.client6 = `fd77:${n}::2`;
    this.dir = mkdtempSync(join(tmpdir(), `sesame-${tag}-`));
  }

  up(): this {
    this.down(); // leftovers of an interrupted run
    sh('ip', ['netns', 'add', this.srv]);
    sh('ip', ['netns', 'add', this.cli]);
    sh('ip', ['link', 'add', this.sif, 'netns', this.srv, 'type', 'veth', 'peer', 'name', this.cif, 'netns', this.cli]);
    for (const [ns, ifc, addrs] of [
      [this.srv, this.sif, [`${this.server4}/24`]],
      [this.cli, this.cif, [`${this.client4}/24`, `${this.client4b}/24`]],
    ] as const) {
      for (const a of addrs) sh('ip', ['-n', ns, 'addr', 'add', a, 'dev', ifc]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
    }
    sh('ip', ['-n', this.srv, 'addr', 'add', `${this.server6}/64`, 'dev', this.sif, 'nodad']);
    sh('ip', ['-n', this.cli, 'addr', 'add', `${this.client6}/64`, 'dev', this.cif, 'nodad']);
    return this;
  }

  down(): void {
    for (const d of this.daemons) { try { d.proc.kill('SIGKILL'); } catch { /* gone */ } }
    this.daemons.clear();
    sh('ip', ['netns', 'del', this.srv], { allowFail: true });
    sh('ip', ['netns', 'del', this.cli], { allowFail: true });
  }

  cleanup(): void {
    this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  file(name: string, text?: string): string {
    const p = join(this.dir, name);
    if (text !== undefined) writeFileSync(p, text);
    return p;
  }

  read(name: string): string {
    const p = join(this.dir, name);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** Runs a command in a namespace and waits for it. */
  exec(ns: string, cmd: string[], allowFail = false): string {
    return sh('ip', ['netns', 'exec', ns, ...cmd], { allowFail });
  }

  /** The real knock client, from the client namespace. */
  knock(args: string[]): string {
    return this.exec(this.cli, ['knock', ...args]);
  }

  /** One raw TCP segment with chosen flags (S, SA, A, FA, R ...). */
  raw(port: number, flags: string, src = this.client4): void {
    this.exec(this.cli, ['python3', RAWTCP, src, this.server4, String(port), flags]);
  }

  /** 'open' if a new TCP connection (or UDP exchange) from the client namespace gets its echo (netprobe.py), else 'closed'. */
  probe(kind: 'tcp' | 'udp', host: string, port: number, src?: string): 'open' | 'closed' {
    const out = this.exec(this.cli, ['sh', '-c', `python3 ${PROBE} ${kind} ${host} ${port}${src ? ` ${src}` : ''} && echo open || echo closed`]).trim();
    return out === 'open' ? 'open' : 'closed';
  }

  udpFrom(src: string, port: number): void {
    this.exec(this.cli, ['python3', '-c', `import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('${src}',0));s.sendto(b'\\0',('${this.server4}',${port}))`]);
  }

  synFrom(src: string, port: number): void {
    this.raw(port, 'S', src);
  }

  /**
   * An internal host behind the server (a bastion): namespace `ns` on 10.77.(100+n).0/24, the
   * server at .1 forwarding, the host at .5 routing back through it. The caller deletes `ns`.
   */
  internalHost(ns: string): { bastion: string; host: string } {
    const bastion = `10.77.${100 + this.n}.1`, host = `10.77.${100 + this.n}.5`;
    const [bif, hif] = [`${this.tag}i0`, `${this.tag}i1`];
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', bif, 'netns', this.srv, 'type', 'veth', 'peer', 'name', hif, 'netns', ns]);
    sh('ip', ['-n', this.srv, 'addr', 'add', `${bastion}/24`, 'dev', bif]);
    sh('ip', ['-n', ns, 'addr', 'add', `${host}/24`, 'dev', hif]);
    for (const [n, ifc] of [[this.srv, bif], [ns, hif], [ns, 'lo']] as const) sh('ip', ['-n', n, 'link', 'set', ifc, 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', bastion]);
    this.exec(this.srv, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    return { bastion, host };
  }

  /** Starts a daemon in the server namespace; resolves once its log says it is listening. */
  start(bin: string, args: string[], logFile: string, env: Record<string, string> = {}): Promise<Daemon> {
    return startDaemonIn(this.srv, bin, args, logFile, env, this.daemons);
  }

  stop(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return stopDaemon(d, signal);
  }
}

/** Starts a daemon in namespace `ns`; resolves once its log says it is listening. */
export async function startDaemonIn(ns: string, bin: string, args: string[], logFile: string, env: Record<string, string>, track: Set<Daemon>): Promise<Daemon> {
  // A restarted daemon may append to the same log: wait for one more start-up line than before.
  const starts = () => readIf(logFile).split('starting up, listening on').length;
  const before = starts();
  const proc = spawn('ip', ['netns', 'exec', ns, bin, ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const d: Daemon = {
    proc, log: logFile, stdout: '', stderr: '',
    exit: new Promise((r) => proc.once('exit', (code, sig) => r(code ?? (sig ? -1 : null)))),
  };
  proc.stdout!.on('data', (b: Buffer) => { d.stdout += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { d.stderr += b.toString(); });
  track.add(d);
  void d.exit.then(() => track.delete(d));
  const ok = await waitFor(() => starts() > before, 15_000, () => proc.exitCode !== null);
  if (!ok) throw new Error(`${bin} did not start: ${d.stderr}`);
  await sleep(200); // capture is open before the log line; give libpcap a moment anyway
  return d;
}

export async function stopDaemon(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  d.proc.kill(signal);
  const code = await Promise.race([d.exit, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') { d.proc.kill('SIGKILL'); throw new Error('daemon did not stop'); }
  return code;
}

export function readIf(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

export async function waitFor(cond: () => boolean, ms: number, abort: () => boolean = () => false): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    if (abort()) return cond();
    await sleep(50);
  }
  return cond();
}

/** Log lines without the `[YYYY-MM-DD HH:MM] ` stamps; empty lines kept (knockd's trailing \n). */
export function logLines(text: string): string[] {
  return text.split('\n').slice(0, -1).map((l) => l.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d\] /, ''));
}

/**
 * The lab of one test file: brought up (as root; otherwise the file fails) and cleaned up when the
 * file ends, with every child process it spawned killed and `atEnd` run first.
 */
export function labForFile(t: { fail(m: string): void; teardown(fn: () => void): void }, n: number, tag: string, atEnd: () => void = () => {}) {
  const lab = new Lab(n, tag);
  const children: import('node:child_process').ChildProcess[] = [];
  if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
  else lab.up();
  t.teardown(() => { for (const c of children) c.kill('SIGKILL'); atEnd(); lab.cleanup(); });
  return { lab, children };
}
