// SPA_TCP_Port: Sesame accepts a connection, reads one SPA message (raw, as `fwknop -P tcp` sends
// it, or an HTTP GET), closes it and hands the message to the engine. Nothing is ever written back.
// Bounded so that idle or slow connections cannot keep anyone out: a connection lives at most
// READ_MS and reads at most MAX_BYTES; past MAX_CONNECTIONS (or MAX_PER_SOURCE for one address) the
// oldest connection is closed for the new one. UDP SPA and knocks never wait on it.

import { createServer, type Server, type Socket } from 'node:net';
import type { SpaMessage } from '../engine/inputs.js';
import { StartError } from './start-error.js';
import { parseAddress } from '../config/cidr.js';

/** Longest SPA message read (a GPG one is under 1,500 bytes; an HTTP request adds its headers). */
export const MAX_BYTES = 4096;
/** Connections open at once, and from one address; beyond them the oldest go. */
export const MAX_CONNECTIONS = 256;
export const MAX_PER_SOURCE = 8;
/** How long a connection may take to send its message (ms). */
export const READ_MS = 5000;
/** A raw message is complete when the peer closes, or after this long without more data (ms). */
const QUIET_MS = 300;

export interface TcpServerDeps {
  message(m: SpaMessage): void;
  log(line: string): void;
}

export interface TcpServerStats { accepted: number; evicted: number; oversized: number; timedOut: number }

/** A socket's address, canonical; a dual-stack socket's IPv4 peer (`::ffff:10.0.0.1`) as IPv4. */
function plain(address: string | undefined): { ip: string; family: 4 | 6 } | undefined {
  const a = address === undefined ? undefined : parseAddress(address);
  return a && { ip: a.text, family: a.family };
}

export class SpaTcpServer {
  /** Open connections, oldest first (Map keeps insertion order). */
  private readonly open = new Map<Socket, string>();
  private readonly perSource = new Map<string, number>();
  readonly stats: TcpServerStats = { accepted: 0, evicted: 0, oversized: 0, timedOut: 0 };

  private constructor(private readonly server: Server, private readonly port: number, private readonly deps: TcpServerDeps) {}

  /** Listens on `port` (every address; IPv4 only with -4); throws a StartError naming the key. */
  static async listen(port: number, onlyIPv4: boolean, deps: TcpServerDeps): Promise<SpaTcpServer> {
    const server = createServer({ allowHalfOpen: true });
    const s = new SpaTcpServer(server, port, deps);
    server.on('connection', (sock) => s.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new StartError(`SPA_TCP_Port ${port}: cannot listen: ${err.code ?? err.message}`)));
      server.listen({ port, host: onlyIPv4 ? '0.0.0.0' : '::', ipv6Only: false }, () => resolve());
    });
    server.on('error', (err) => deps.log(`SPA over TCP: port ${port}: ${err.message}`));
    return s;
  }

  private accept(sock: Socket): void {
    const peer = plain(sock.remoteAddress);
    const local = plain(sock.localAddress);
    if (!peer || !local) { sock.destroy(); return; }
    this.stats.accepted++;
    this.makeRoom(peer.ip);
    this.open.set(sock, peer.ip);
    this.perSource.set(peer.ip, (this.perSource.get(peer.ip) ?? 0) + 1);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (deliver: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(quiet);
      sock.destroy();
      if (deliver && size > 0) {
        const payload = Buffer.concat(chunks, size).toString('latin1');
        this.deps.message({ src: peer.ip, dst: local.ip, family: peer.family, dport: this.port, payload });
      }
    };
    const deadline = setTimeout(() => { this.stats.timedOut++; finish(size > 0); }, READ_MS);
    sock.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BYTES) { this.stats.oversized++; finish(false); return; }
      chunks.push(chunk);
      clearTimeout(quiet);
      // An HTTP request is complete at the blank line after its headers (its client waits for an answer).
      if (chunks.length === 1 ? chunk.includes('\r\n\r\n') : Buffer.concat(chunks).includes('\r\n\r\n')) { finish(true); return; }
      quiet = setTimeout(() => finish(true), QUIET_MS);
    });
    sock.on('end', () => finish(true));
    sock.on('error', () => finish(false));
    sock.on('close', () => {
      finish(false);
      this.forget(sock);
    });
  }

  /** Closes the oldest connection of `ip` past its share, and the oldest of all past the total. */
  private makeRoom(ip: string): void {
    if ((this.perSource.get(ip) ?? 0) >= MAX_PER_SOURCE) {
      for (const [sock, owner] of this.open) if (owner === ip) { this.evict(sock); break; }
    }
    if (this.open.size >= MAX_CONNECTIONS) this.evict(this.open.keys().next().value!);
  }

  private evict(sock: Socket): void {
    this.stats.evicted++;
    this.forget(sock);
    sock.destroy();
  }

  private forget(sock: Socket): void {
    const ip = this.open.get(sock);
    if (ip === undefined) return;
    this.open.delete(sock);
    const n = (this.perSource.get(ip) ?? 1) - 1;
    if (n > 0) this.perSource.set(ip, n);
    else this.perSource.delete(ip);
  }

  /** Stops listening and closes what is open. */
  close(): Promise<void> {
    for (const sock of this.open.keys()) sock.destroy();
    this.open.clear();
    this.perSource.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
