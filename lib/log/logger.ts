// The daemon's logger: knockd's sinks behind one LogSink. LogFile gets knockd's exact lines;
// without a log file (and without syslog) in the foreground, lines go to stderr for journald.
// -v and -D lines go to stdout, as knockd prints them.

import winston from 'winston';
import type { LogSink } from './messages.js';
import { KnockdFileTransport, StreamTransport } from './transports.js';
import { SyslogTransport } from './syslog.js';

export interface LoggerOptions {
  readonly logFile: string | undefined;
  readonly useSyslog: boolean;
  readonly verbose: boolean;
  readonly debug: boolean;
  /** Where stderr lines go (tests capture them). */
  readonly stderr?: (s: string) => void;
  readonly stdout?: (s: string) => void;
  /** Extra transports (syslog). */
  readonly extra?: readonly winston.transport[];
}

export class Logger implements LogSink {
  private readonly logger: winston.Logger;
  private file: KnockdFileTransport | undefined;
  private readonly stderr: (s: string) => void;
  private readonly stdout: (s: string) => void;
  readonly verboseOn: boolean;
  readonly debugOn: boolean;

  constructor(private readonly opts: LoggerOptions) {
    this.stderr = opts.stderr ?? ((s) => process.stderr.write(s));
    this.stdout = opts.stdout ?? ((s) => process.stdout.write(s));
    this.verboseOn = opts.verbose || opts.debug;
    this.debugOn = opts.debug;
    // The transports write `message` as it is: winston's default JSON format would serialise
    // every line for nothing (a flood's stage lines make that a cost).
    const asIs = winston.format((info) => info)();
    this.logger = winston.createLogger({ level: 'info', format: asIs, transports: [...(opts.extra ?? [])], exitOnError: false });
    this.openFile();
    if (opts.useSyslog) this.logger.add(new SyslogTransport());
    if (!this.file && !opts.useSyslog) this.logger.add(new StreamTransport(this.stderr));
  }

  /** Opens (or reopens, after log rotation) the log file; a failure is a warning, as in knockd. */
  openFile(): void {
    if (this.file) { this.logger.remove(this.file); this.file.close(); this.file = undefined; }
    if (!this.opts.logFile) return;
    try {
      this.file = new KnockdFileTransport(this.opts.logFile);
      this.logger.add(this.file);
    } catch (err) {
      this.stderr(`warning: cannot open logfile: ${(err as Error).message}\n`);
    }
  }

  log(message: string, also?: { stderr?: boolean }): void {
    this.logger.info(message);
    if (also?.stderr && !this.stderrIsLog()) this.stderr(`${message.replace(/\n$/, '')}\n`);
    if (this.verboseOn) this.stdout(`${message.replace(/\n$/, '')}\n`);
  }

  /** -v lines (stdout only). */
  verbose(message: string): void {
    if (this.verboseOn) this.stdout(`${message}\n`);
  }

  /** -D lines (stdout only). */
  debug(message: string): void {
    if (this.debugOn) this.stdout(`${message}\n`);
  }

  close(): void {
    if (this.file) { this.file.close(); this.file = undefined; }
    this.logger.close();
  }

  private stderrIsLog(): boolean {
    return !this.file && !this.opts.useSyslog;
  }
}
