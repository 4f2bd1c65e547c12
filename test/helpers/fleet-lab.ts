// A fleet in namespaces: a switch namespace with a bridge, a client, N bastion nodes and a Redis
// host, all on 10.77.n.0/24 (client .2, nodes .11.., Redis .50). Each test file picks its own n
// and tag; everything it made is deleted by cleanup(), also when a test fails.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESAME, sh, sleep, startDaemonIn, stopDaemon, waitFor, type Daemon } from './lab.js';

export interface FleetNode {
  readonly name: string;
  readonly ns: string;
  readonly ifc: string;
  readonly addr: string;
}

export const REDIS_PORT = 6390;

export class FleetLab {
  readonly sw: string;
  readonly cli: string;
  readonly rds: string;
  readonly client4: string;
  readonly redis4: string;
  readonly nodes: FleetNode[];
  readonly dir: string;
  /** The fleet's shared key (Fleet_Key_File), owner-only, written when the lab is made. */
  readonly keyFile: string;
  /** Fleet_Redis of the nodes' configs (a test may point it at sentinels). */
  redisUrl: string;
  private readonly daemons = new Set<Daemon>();
  private redis: ChildProcess | undefined;
  /** Other servers a test started in the Redis namespace (replicas, sentinels), by name. */
  private readonly servers = new Map<string, ChildProcess>();

  constructor(readonly n: number, readonly tag: string, names: readonly string[]) {
    this.sw = `ses-${tag}-sw`;
    this.cli = `ses-${tag}-cli`;
    this.rds = `ses-${tag}-rds`;
    this.client4 = `10.77.${n}.2`;
    this.redis4 = `10.77.${n}.50`;
    this.nodes = names.map((name, i) => ({ name, ns: `ses-${tag}-${name}`, ifc: `${tag}${name}0`, addr: `10.77.${n}.${11 + i}` }));
    this.dir = mkdtempSync(join(tmpdir(), `sesame-${tag}-`));
    this.keyFile = this.file('fleet.key', `${randomBytes(32).toString('base64')}\n`);
    this.redisUrl = `redis://${this.redis4}:${REDIS_PORT}/0`;
  }

  private get all(): { ns: string; ifc: string; addr: string }[] {
    return [
      { ns: this.cli, ifc: `${this.tag}cl0`, addr: this.client4 },
      { ns: this.rds, ifc: `${this.tag}rd0`, addr: this.redis4 },
      ...this.nodes,
    ];
  }

  up(): this {
    this.down();
    sh('ip', ['netns', 'add', this.sw]);
    sh('ip', ['-n', this.sw, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.sw, 'link', 'set', 'br0', 'up']);
    this.all.forEach(({ ns, ifc, addr }, i) => {
      const port = `${this.tag}p${i}`;
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', ifc, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.sw]);
      sh('ip', ['-n', this.sw, 'link', 'set', port, 'master', 'br0']);
      sh('ip', ['-n', this.sw, 'link', 'set', port, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifc]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
    });
    return this;
  }

  down(): void {
    for (const d of this.daemons) { try { d.proc.kill('SIGKILL'); } catch { /* gone */ } }
    this.daemons.clear();
    this.signalRedis('SIGCONT');
    this.redis?.kill('SIGKILL');
    for (const p of this.servers.values()) p.kill('SIGKILL');
    this.servers.clear();
    for (const { ns } of this.all) sh('ip', ['netns', 'del', ns], { allowFail: true });
    sh('ip', ['netns', 'del', this.sw], { allowFail: true });
  }

  cleanup(): void {
    this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  logOf(node: FleetNode): string {
    return join(this.dir, `${node.name}.log`);
  }

  /** A node's `[options]` block: its log and interface, `extra` lines, and this lab's fleet (its key unless `keyFile`). */
  options(node: FleetNode, passwordFile: string, extra = '', keyFile = this.keyFile): string {
    return `[options]\n\tLogFile = ${this.logOf(node)}\n\tInterface = ${node.ifc}\n${extra}` +
      `\tFleet_Redis = ${this.redisUrl}\n\tFleet_Key_File = ${keyFile}\n\tFleet_Password_File = ${passwordFile}\n` +
      `\tFleet_Name = t${this.n}\n\tFleet_Node = ${node.name}\n`;
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  }

  exec(ns: string, cmd: string[], allowFail = false): string {
    return sh('ip', ['netns', 'exec', ns, ...cmd], { allowFail });
  }

  /** The real fwknop client, from the client namespace, to `node` (Rijndael + HMAC keys, base64); `save` keeps the packet. */
  fwknop(node: FleetNode, port: number, key: string, hmacKey: string, save?: string): void {
    this.exec(this.cli, ['env', `HOME=${this.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', node.addr,
      '-a', this.client4, '--key-base64-rijndael', key, '--key-base64-hmac', hmacKey, '--use-hmac', '-A', `tcp/${port}`, '-f', '60',
      ...(save ? ['-B', save] : [])]);
  }

  /** Sends `text` as one UDP datagram to `node`'s SPA port (a saved packet, replayed). */
  sendRaw(node: FleetNode, text: string): void {
    this.exec(this.cli, ['python3', '-c', `import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(sys.argv[1].encode(),('${node.addr}',62201))`, text]);
  }

  /** Starts redis-server (no persistence: a restart comes back empty) and waits for its PONG. */
  async startRedis(password: string): Promise<void> {
    this.redis = spawn('ip', ['netns', 'exec', this.rds, 'redis-server', '--bind', this.redis4, '--port', String(REDIS_PORT),
      '--save', '', '--appendonly', 'no', '--requirepass', password, '--protected-mode', 'no', '--dir', this.dir], { stdio: 'ignore' });
    const ping = () => this.exec(this.rds, ['redis-cli', '-h', this.redis4, '-p', String(REDIS_PORT), '--no-auth-warning', '-a', password, 'ping'], true).trim() === 'PONG';
    if (!(await waitFor(ping, 10_000))) throw new Error('redis-server did not start');
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) redis-server: connections stay open, nothing is answered. */
  signalRedis(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.redis?.pid) process.kill(this.redis.pid, signal);
  }

  /** redis-cli inside the Redis namespace, with the password. */
  redisCli(password: string, args: string[], allowFail = false): string {
    return this.exec(this.rds, ['redis-cli', '-h', this.redis4, '-p', String(REDIS_PORT), '--no-auth-warning', '-a', password, ...args], allowFail);
  }

  /** Starts `cmd` in the Redis namespace as server `name` (a replica, a sentinel); killed by down(). */
  startServer(name: string, cmd: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.rds, ...cmd], { stdio: 'ignore' });
    this.servers.set(name, p);
    return p;
  }

  /** Kills server `name` (SIGKILL) and waits for it to be gone. */
  async killServer(name: string): Promise<void> {
    const p = this.servers.get(name);
    if (!p) return;
    p.kill('SIGKILL');
    await Promise.race([new Promise((res) => p.once('exit', res)), sleep(5000)]);
    this.servers.delete(name);
  }

  async killRedis(): Promise<void> {
    const r = this.redis;
    if (!r) return;
    r.kill('SIGKILL');
    await Promise.race([new Promise((res) => r.once('exit', res)), sleep(5000)]);
    this.redis = undefined;
  }

  start(node: FleetNode, args: string[], logFile: string): Promise<Daemon> {
    return startDaemonIn(node.ns, SESAME, args, logFile, {}, this.daemons);
  }

  stop(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return stopDaemon(d, signal);
  }
}
