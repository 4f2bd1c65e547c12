// Reads an NFLOG group in the daemon's own process (kernel matching): libpcap opens `nflog:GROUP`
// as a device and cap reads it. Unlike an interface, a group does not vanish, so no capture child
// is needed. Each frame is decoded and handed over in the handler (cap reuses one buffer): nothing
// is queued in user space, so the socket's buffer is the only queue and a frame dies young (a
// batch held across a turn made the garbage collector copy thousands of them under a flood). One
// event-loop turn may spend at most TURN_BUDGET_MS on frames; past it, the rest that cap reads in
// that turn are counted as lost, so that timers and log writes still run under an overload.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { decodeNflog, type NflogFrame } from './nflog-decode.js';
import { netfilterSocketFds, netlinkDrops } from './packet-sockets.js';
import { ERROR_CODES, SesameError } from '../errors/errors.js';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
}

type Quiet = <T>(fn: () => T) => T;
type Tune = (fd: number, bytes: number) => void;
type Batch = (fd: number, group: number, timeoutCs: number, bufferBytes: number) => void;
let quiet: Quiet = (fn) => fn();
let tune: Tune | undefined;
let batch: Batch | undefined;
try {
  const addon = (await import('packet-stats')) as { withQuietStderr: Quiet; tuneNetlink: Tune; batchNflog: Batch };
  quiet = addon.withQuietStderr;
  tune = addon.tuneNetlink;
  batch = addon.batchNflog;
} catch { /* a warning on stderr, the kernel's default buffer, no batches */ }

// cap leaves a handle whose open failed half-built (libpcap's handle kept, no reference taken), and
// its destructor then trips an assertion that aborts the process when the garbage collector runs.
// Such handles are kept here for the process's life (one per failed open: a few bytes).
const failedHandles: CapHandle[] = [];

/** Time one event-loop turn may spend on frames (cap drains the socket in one go). */
const TURN_BUDGET_MS = 200;
/** Netlink messages carry the whole SPA datagram; 64 KiB covers any IP packet. */
const SNAPLEN = 65536;
/**
 * The group's flush timer (hundredths of a second; the kernel's default is 100) and the size of
 * one batch (bytes; under libpcap's read buffer of 128 + SNAPLEN, so a batch is never cut).
 */
const FLUSH_CS = 1;
const BATCH_BYTES = 32768;

export interface NflogEvents {
  frame(frame: NflogFrame): void;
  /** Frames read but not handled (the turn's budget was spent), or dropped by the kernel (buffer full). */
  lost(count: number, where: 'daemon' | 'kernel'): void;
}

/** What kernel matching reads its events from: an NflogReader, or a test's frames. */
export interface NflogSource {
  /** The group flushes within a few ms: rules may queue messages into batches. */
  readonly batching: boolean;
  /** Reports what the kernel dropped since the last call (NflogEvents.lost). */
  checkDrops(): void;
  close(): void;
}

/** Opens NFLOG group `group`, handing its frames to `on`; throws what failed. */
export type OpenNflog = (group: number, on: NflogEvents) => NflogSource;

export const openNflog: OpenNflog = (group, on) => new NflogReader(group, on);

export class NflogReader implements NflogSource {
  private cap: CapHandle | undefined;
  private readonly buffer = Buffer.alloc(SNAPLEN);
  private lostCount = 0;
  /** When the current turn's first frame came (performance.now()), or undefined between turns. */
  private turnStart: number | undefined;
  private framesThisTurn = 0;
  private overBudget = false;
  /** libpcap's NFLOG socket (inode), for its drop counter; undefined if it was not found. */
  private readonly inode: string | undefined;
  /** The group flushes within FLUSH_CS: rules may queue messages into batches (ruleset spaQueue). */
  readonly batching: boolean = false;
  private dropsSeen = 0;

  /** Opens the group; throws with libpcap's message (no permission, no NFLOG), or who holds the group. */
  constructor(readonly group: number, private readonly on: NflogEvents, bufferSize = 16 << 20) {
    const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle };
    const c = new Cap();
    let link: string;
    const before = netfilterSocketFds();
    try {
      link = quiet(() => c.open(`nflog:${group}`, '', bufferSize, this.buffer));
    } catch (err) {
      failedHandles.push(c);
      throw new SesameError(nflogOpenError(group, err), ERROR_CODES.start, { cause: err });
    }
    // The socket libpcap just opened. Without NETLINK_NO_ENOBUFS a full buffer would abort us
    // (see packet-stats); with it the kernel counts what it dropped, which we report.
    const [fd, inode] = [...netfilterSocketFds()].find(([f]) => !before.has(f)) ?? [];
    if (fd !== undefined && tune) {
      try { tune(fd, bufferSize); this.inode = inode; } catch { /* left as libpcap made it */ }
    }
    if (fd !== undefined && batch) {
      try { batch(fd, group, FLUSH_CS, BATCH_BYTES); this.batching = true; } catch { /* one message per packet */ }
    }
    if (link !== 'Unknown linktype 239' && link !== 'NFLOG') {
      c.close();
      throw new SesameError(`nflog:${group}: unexpected link type ${link}`, ERROR_CODES.start);
    }
    c.on('packet', (nbytes) => this.frame(nbytes));
    this.cap = c;
  }

  private frame(nbytes: number): void {
    if (this.turnStart === undefined) {
      this.turnStart = performance.now();
      setImmediate(() => this.endTurn());
    } else if (this.overBudget || ((++this.framesThisTurn & 63) === 0 && performance.now() - this.turnStart > TURN_BUDGET_MS)) {
      this.overBudget = true;
      this.lostCount++;
      return;
    }
    const f = decodeNflog(this.buffer, nbytes);
    if (f) this.on.frame(f);
  }

  private endTurn(): void {
    this.turnStart = undefined;
    this.framesThisTurn = 0;
    this.overBudget = false;
    if (this.lostCount) { this.on.lost(this.lostCount, 'daemon'); this.lostCount = 0; }
  }

  /** What the kernel dropped since the last call because the buffer was full (for a periodic report). */
  checkDrops(): void {
    if (this.inode === undefined) return;
    const drops = netlinkDrops(this.inode);
    if (drops !== undefined && drops > this.dropsSeen) {
      this.on.lost(drops - this.dropsSeen, 'kernel');
      this.dropsSeen = drops;
    }
  }

  close(): void {
    this.cap?.close();
    this.cap = undefined;
  }
}

/**
 * Why a group could not be opened. A group bound by another socket gives libpcap's bare
 * "Operation not permitted": say which group, which process holds it (the kernel lists each
 * group's netlink port, the binder's pid for a first socket) and what to do.
 */
function nflogOpenError(group: number, err: unknown): string {
  const why = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (!/Operation not permitted/.test(why) || process.getuid?.() !== 0) return why;
  let holder = 'another program';
  try {
    const row = readFileSync('/proc/net/netfilter/nfnetlink_log', 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
      .find((f) => Number(f[0]) === group);
    const pid = row ? Number(row[1]) : NaN;
    if (Number.isInteger(pid) && pid > 0) {
      let comm = '';
      try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* another namespace or gone */ }
      holder = comm ? `pid ${pid} (${comm})` : `netlink port ${pid}`;
    }
  } catch { /* no /proc listing: keep it vague */ }
  return `NFLOG group ${group} is in use by ${holder}; give this knockd its own --instance NAME (its own group), ` +
    `or set Matching = pcap (libpcap: ${why})`;
}
