// One knock on the wire. TCP: a non-blocking connect abandoned at once, so exactly one SYN
// leaves and the client completes no handshake of its own (a SYN that is answered on a LAN still
// gets the kernel's ACK, as with knock 0.8). UDP: one datagram holding a single zero byte.

import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import type { Hit } from './ports.js';

export interface Endpoint {
  readonly address: string;
  readonly family: 4 | 6;
  /** Source address to send from, if any. */
  readonly source?: string;
}

export function tcpHit(to: Endpoint, port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.on('error', () => { /* refused or unreachable: the SYN is out, that is all a knock needs */ });
    s.connect({ host: to.address, port, family: to.family, ...(to.source ? { localAddress: to.source } : {}) });
    // net.connect issues connect(2) on the next tick; abandon the socket right after it.
    setImmediate(() => { s.destroy(); resolve(); });
  });
}

export function udpHit(to: Endpoint, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket(to.family === 6 ? 'udp6' : 'udp4');
    const send = () => s.send(Buffer.from([0]), port, to.address, (err) => { s.close(); if (err) reject(err); else resolve(); });
    s.on('error', (err) => { try { s.close(); } catch { /* closed */ } reject(err); });
    if (to.source) s.bind(0, to.source, send);
    else send();
  });
}

export function hit(to: Endpoint, h: Hit): Promise<void> {
  return h.protocol === 'udp' ? udpHit(to, h.port) : tcpHit(to, h.port);
}
