// winston transports that write knockd's formats. The file transport appends with a synchronous
// write per line (knockd fflush()es every line), so nothing is lost when the daemon is killed.

import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import Transport from 'winston-transport';
import { fileLine } from './format.js';

const MESSAGE = Symbol.for('message');

interface Info { message: unknown; [MESSAGE]?: unknown }

function text(info: Info): string {
  return String(info.message);
}

export class KnockdFileTransport extends Transport {
  private fd: number | undefined;

  /**
   * Throws (ENOENT, EACCES, ...) when the file cannot be opened for appending. Opened
   * non-blocking and checked: a FIFO (or socket) would block the daemon on every line.
   */
  constructor(readonly path: string) {
    super();
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY;
    const fd = openSync(path, flags, 0o640);
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isCharacterDevice()) {
      closeSync(fd);
      throw Object.assign(new Error(`${st.isFIFO() ? 'a FIFO' : 'not a regular file'}, not a log file`), { code: 'EINVAL' });
    }
    this.fd = fd;
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
