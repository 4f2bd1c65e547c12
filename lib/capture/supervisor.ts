// Runs and watches one capture process per interface. The first open is awaited so start-up
// errors (no such interface, no permission) reach the user as one line. Afterwards, a capture
// process that dies (interface deleted: cap aborts) is logged and restarted once the interface
// exists again, instead of ending the daemon.

import { fork, type ChildProcess } from 'node:child_process';
import type { Packet } from '../matcher/types.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { interfacePresent } from './interfaces.js';
import { ERROR_CODES, SesameError } from '../errors/errors.js';

export interface SupervisorEvents {
  packets(packets: Packet[]): void;
  /** A line for the log (interface lost / back). */
  notice(message: string): void;
  dropped(counts: Record<string, number>): void;
  /** The capture is open again after its interface came back. */
  reopened?(): void;
}

const WORKER = new URL('./worker.js', import.meta.url);
const RETRY_MS = 1000;

export class CaptureSupervisor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private linkType = '';

  constructor(
    readonly iface: string,
    private filter: string,
    private readonly on: SupervisorEvents,
    /** libpcap's buffer (the kernel ring), in bytes (Capture_Buffer). */
    private readonly bufferSize: number,
  ) {}

  /** Opens the capture; rejects with knockd's message (`could not open eth0: ...`). */
  start(): Promise<string> {
    return this.spawn();
  }

  setFilter(filter: string): void {
    this.filter = filter;
    this.send({ type: 'filter', filter });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    // The channel may already be closed (the child is ending): disconnect() would throw.
    if (c.connected) { try { c.disconnect(); } catch { /* closed meanwhile */ } }
    c.kill('SIGKILL'); // it ignores SIGTERM (see worker.ts) and holds nothing to save
  }

  get link(): string { return this.linkType; }

  private send(m: ToWorker): void {
    if (this.child?.connected) this.child.send(m);
  }

  private spawn(): Promise<string> {
    return new Promise((resolve, reject) => {
      let opened = false;
      const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', execArgv: [] });
      this.child = child;
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.length > 4096) stderr = stderr.slice(-4096); });
      child.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'opened': opened = true; this.linkType = m.linkType; resolve(m.linkType); break;
          case 'error': if (!opened) reject(new SesameError(m.message, ERROR_CODES.start)); else this.on.notice(m.message); break;
          case 'packets': this.on.packets(m.packets.map(([src, dst, family, protocol, dport, tcpFlags, payload, sport, seq]) =>
            (payload === undefined
              ? { src, dst, family, protocol, dport, tcpFlags, seenAt: m.at }
              : { src, dst, family, protocol, dport, tcpFlags, payload, ...(sport !== undefined ? { sport, seq } : {}), seenAt: m.at })));
            break;
          case 'dropped': this.on.dropped(m.counts); break;
        }
      });
      child.on('exit', (code, signal) => {
        if (this.child !== child) return;
        this.child = undefined;
        if (!opened) {
          const last = stderr ? `: ${stderr.trim().split('\n').at(-1)}` : '';
          reject(new SesameError(`could not open ${this.iface}: capture process ended (${signal ?? code})${last}`, ERROR_CODES.start));
          return;
        }
        if (this.stopped) return;
        const why = interfacePresent(this.iface) ? `capture process ended: ${signal ?? code}` : 'the interface disappeared';
        this.on.notice(`pcap: capture on ${this.iface} stopped (${why}); waiting for it`);
        this.scheduleReopen();
      });
      child.send({ type: 'open', iface: this.iface, filter: this.filter, bufferSize: this.bufferSize } satisfies ToWorker);
    });
  }

  private scheduleReopen(): void {
    this.retry = setTimeout(() => {
      if (this.stopped) return;
      if (!interfacePresent(this.iface)) { this.scheduleReopen(); return; }
      this.spawn().then(
        () => { this.on.notice(`re-opened ${this.iface}, listening again`); this.on.reopened?.(); },
        () => this.scheduleReopen(),
      );
    }, RETRY_MS);
  }
}
