// Metrics_Listen: GET /metrics and nothing else, for a Prometheus server on a management network.
// Bounded: 64 connections, 4 from one address, one request each, 2 s for the headers; a page
// rendered is served for a second, so a scrape loop costs one render a second; no request body is
// read; a scrape that fails answers 500 without the reason (it is logged).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CachedRead } from './cached-read.js';

/** More concurrent scrapes than a few Prometheus servers make is someone else. */
export const MAX_CONNECTIONS = 64;
/** Connections one address may hold at once: one host cannot take every slot. */
export const MAX_PER_SOURCE = 4;
/** A page rendered is served to every request for this long (ms): a scrape loop costs one render a second. */
export const RENDER_TTL_MS = 1000;
const TIMEOUT_MS = 10_000;
/** Headers must be in within this; checked every second, so slow clients cannot hold every slot for long. */
const HEADERS_MS = 2000;

export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export class MetricsServer {
  private constructor(private readonly server: http.Server) {}

  /** Listens on host:port; rejects with the system's error (EADDRINUSE, EADDRNOTAVAIL, ...). */
  static listen(host: string, port: number, source: MetricsSource, log: (line: string) => void): Promise<MetricsServer> {
    const page = new CachedRead(() => source.text(), RENDER_TTL_MS);
    const server = http.createServer({
      requestTimeout: TIMEOUT_MS, headersTimeout: HEADERS_MS, connectionsCheckingInterval: 1000, maxHeaderSize: 8192,
    }, (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      res.setHeader('Connection', 'close');
      if (path !== '/metrics') { res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only /metrics here\n'); return; }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('GET only\n');
        return;
      }
      page.get(performance.now()).then(
        (body) => { res.writeHead(200, { 'Content-Type': source.contentType }).end(req.method === 'HEAD' ? undefined : body); },
        (err: unknown) => {
          log(`metrics: scrape failed: ${(err as Error).message}`);
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('scrape failed\n');
        });
    });
    server.maxConnections = MAX_CONNECTIONS;
    // One request per connection: pipelined GETs would each be answered (and rendered) otherwise.
    server.maxRequestsPerSocket = 1;
    const perSource = new Map<string, number>();
    server.on('connection', (socket) => {
      const from = socket.remoteAddress ?? '';
      const n = perSource.get(from) ?? 0;
      if (n >= MAX_PER_SOURCE) { socket.destroy(); return; }
      perSource.set(from, n + 1);
      socket.once('close', () => {
        const left = (perSource.get(from) ?? 1) - 1;
        if (left > 0) perSource.set(from, left); else perSource.delete(from);
      });
    });
    server.keepAliveTimeout = 1000;
    server.setTimeout(TIMEOUT_MS, (socket) => socket.destroy());
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        server.on('error', (err) => log(`metrics: ${err.message}`));
        resolve(new MetricsServer(server));
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }
}
