// UseSyslog: datagrams to /dev/log as glibc's syslog() writes them for knockd — ident `knockd`,
// facility daemon, priority notice: `<29>Nov 21 23:21:51 knockd: message`. Node has no AF_UNIX
// datagram sockets, hence unix-dgram. A missing or full syslog drops the line, as syslog() does.

import { createRequire } from 'node:module';
import Transport from 'winston-transport';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  close(): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FACILITY_DAEMON = 3;
const SEVERITY_NOTICE = 5;

export const DEFAULT_SYSLOG_PATH = process.env['SESAME_SYSLOG_PATH'] || '/dev/log';

/** glibc's `%h %e %T` stamp (day padded with a space). */
export function syslogStamp(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

export function syslogDatagram(message: string, at: Date = new Date(), ident = 'knockd'): string {
  return `<${FACILITY_DAEMON * 8 + SEVERITY_NOTICE}>${syslogStamp(at)} ${ident}: ${message}`;
}

export class SyslogTransport extends Transport {
  private socket: DgramSocket | undefined;

  constructor(private readonly path = DEFAULT_SYSLOG_PATH) {
    super();
  }

  override log(info: { message: unknown }, next: () => void): void {
    try {
      if (!this.socket) {
        this.socket = unixDgram.createSocket('unix_dgram');
        this.socket.on('error', () => { /* no syslog listening: drop, as syslog() does */ });
      }
      const buf = Buffer.from(syslogDatagram(String(info.message)));
      this.socket.send(buf, 0, buf.length, this.path, () => {});
    } catch { /* dropped */ }
    next();
  }

  override close(): void {
    try { this.socket?.close(); } catch { /* already closed */ }
    this.socket = undefined;
  }
}
