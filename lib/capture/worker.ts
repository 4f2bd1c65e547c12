// Capture process: opens one interface with libpcap (cap), decodes each frame inside the packet
// handler (cap reuses one buffer) and sends batches to the daemon. It is a separate process
// because cap aborts the whole process when its interface disappears; the daemon survives that,
// logs it and starts a new capture process when the interface is back.

import { createRequire } from 'node:module';
import { decodeFrame, isPacket, linkTypeOf, type LinkType } from './decode.js';
import type { FromWorker, ToWorker, WirePacket } from './protocol.js';
import { packetSocketFds } from './packet-sockets.js';

// The kernel ring's drop counter (optional addon: without it, ring losses go unreported).
type ReadStats = (fd: number) => { packets: number; drops: number };
let readStats: ReadStats | undefined;
try { readStats = ((await import('packet-stats')) as { readPacketStats: ReadStats }).readPacketStats; } catch { readStats = undefined; }
const STATS_MS = 2000;
let statFds: number[] = [];

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
}
const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle };

const MAX_BATCH = 512;
/** Batches handed to the IPC channel and not yet written: past this, packets are counted, not queued. */
const MAX_IN_FLIGHT = 64;
let inFlight = 0;
const send = (m: FromWorker) => process.send?.(m);
// The frame buffer's size is libpcap's snap length, and the kernel ring has fixed-size slots of
// about that size: 64 KiB slots left a 1 MiB ring room for ~16 packets, so a burst of 200 spoofed
// knocks overflowed it. Knocks need headers only and an SPA datagram fits an Ethernet frame:
// 8 KiB covers both (jumbo frames beyond it arrive truncated and are dropped as such).
const SNAPLEN = 8192;
const buffer = Buffer.alloc(SNAPLEN);
let cap: CapHandle | undefined;
let iface = '';
let bufferSize = 8 << 20;
let batch: WirePacket[] = [];
let batchAt = 0;
let flushScheduled = false;
let drops: Record<string, number> = {};

function flush(): void {
  flushScheduled = false;
  if (batch.length) {
    // A daemon that falls behind must not grow this process without bound (it did: +120 MB in
    // 15 s of flood): what the channel cannot take is dropped and reported as 'queue'.
    if (inFlight < MAX_IN_FLIGHT) {
      inFlight++;
      process.send?.({ type: 'packets', packets: batch, at: batchAt } satisfies FromWorker, undefined, {}, () => { inFlight--; });
    } else {
      drops['queue'] = (drops['queue'] ?? 0) + batch.length;
    }
    batch = [];
  }
  if (Object.keys(drops).length) { send({ type: 'dropped', counts: drops }); drops = {}; }
}

/** One flush per event-loop turn, whatever asked for it first. */
function scheduleFlush(): void {
  if (!flushScheduled) { flushScheduled = true; setImmediate(flush); }
}

function open(filter: string): void {
  cap?.close();
  const c = new Cap();
  let name: string;
  try {
    name = c.open(iface, filter, bufferSize, buffer);
  } catch (err) {
    send({ type: 'error', message: `could not open ${iface}: ${(err as Error).message}` });
    process.exit(1);
  }
  const link: LinkType | undefined = linkTypeOf(name);
  if (!link) {
    send({ type: 'error', message: `error: unsupported link-layer type: ${name}` });
    process.exit(1);
  }
  c.on('packet', (nbytes) => {
    const d = decodeFrame(link, buffer, nbytes);
    if (isPacket(d)) {
      // Backpressure: past one full batch per turn, further packets are counted, not queued.
      if (batch.length < MAX_BATCH * 8) {
        const w: WirePacket = [d.src, d.dst, d.family, d.protocol, d.dport, d.tcpFlags];
        if (d.payload !== undefined) w.push(d.payload);
        if (d.sport !== undefined) w.push(d.sport, d.seq ?? 0);
        if (batch.length === 0) batchAt = Date.now();
        batch.push(w);
      }
      else drops['overflow'] = (drops['overflow'] ?? 0) + 1;
    } else {
      drops[d] = (drops[d] ?? 0) + 1;
    }
    if (batch.length >= MAX_BATCH) flush();
    else scheduleFlush();
  });
  cap = c;
  statFds = readStats ? packetSocketFds() : [];
  send({ type: 'opened', linkType: name });
}

/** Packets the kernel dropped because libpcap's ring was full: reported as 'kernel'. */
function readKernelDrops(): void {
  for (const fd of statFds) {
    try {
      const { drops: n } = readStats!(fd);
      if (n > 0) { drops['kernel'] = (drops['kernel'] ?? 0) + n; scheduleFlush(); }
    } catch { /* closed meanwhile: the next open finds the new one */ }
  }
}
setInterval(readKernelDrops, STATS_MS).unref();

process.on('message', (m: ToWorker) => {
  if (m.type === 'open') { iface = m.iface; bufferSize = m.bufferSize; open(m.filter); }
  else if (m.type === 'filter') open(m.filter);
});
// The daemon went away: so do we.
process.on('disconnect', () => process.exit(0));
// Ctrl-C or systemd's stop reach the whole process group: the daemon decides when capture ends
// (it disconnects), so its shutdown is not raced by a "capture stopped" notice.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
