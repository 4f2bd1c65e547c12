// winston transports that write knockd's formats. The file transport appends with a synchronous
// write per line (knockd fflush()es every line), so nothing is lost when the daemon is killed.

import { closeSync, openSync, writeSync } from 'node:fs';
import Transport from 'winston-transport';
import { fileLine } from './format.js';

const MESSAGE = Symbol.for('message');

interface Info { message: unknown; [MESSAGE]?: unknown }

function text(info: Info): string {
  return String(info.message);
}

export class KnockdFileTransport extends Transport {
  private fd: number | undefined;

  /** Throws (ENOENT, EACCES, ...) when the file cannot be opened for appending. */
  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'a', 0o640);
  }

  override log(info: Info, next: () => void): void {
    if (this.fd !== undefined) {
      try { writeSync(this.fd, fileLine(text(info))); } catch { /* disk full: keep running */ }
    }
    next();
  }

  override close(): void {
    if (this.fd !== undefined) { closeSync(this.fd); this.fd = undefined; }
  }
}

/** One line per message on a stream (stderr in the foreground, so journald keeps it). */
export class StreamTransport extends Transport {
  constructor(private readonly sink: (s: string) => void) {
    super();
  }

  override log(info: Info, next: () => void): void {
    this.sink(`${text(info).replace(/\n$/, '')}\n`);
    next();
  }
}
