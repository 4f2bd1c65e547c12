// Config errors carry knockd's exact message text (its users grep for it) plus where it happened.

import { ERROR_CODES, SesameError } from '../errors/errors.js';

export class ConfigError extends SesameError {
  /** Config file the error belongs to. */
  readonly file: string;
  /** 1-based line, when the error has one. */
  readonly line: number | undefined;

  /** Lines knockd prints before the error itself (one-time file lines it skipped). */
  readonly preceding: readonly string[];

  constructor(message: string, file: string, line?: number, preceding: readonly string[] = []) {
    super(message, ERROR_CODES.config);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.preceding = preceding;
  }

  override userLines(): string[] {
    return configErrorLines(this);
  }
}

/** `file, line N` (or just the file) for the line Sesame adds after knockd's message. */
export function errorLocation(err: ConfigError): string {
  return err.line !== undefined ? `${err.file}, line ${err.line}` : err.file;
}

/** What the user sees: skipped one-time lines as warnings, knockd's exact message, then where. */
export function configErrorLines(err: ConfigError): string[] {
  const lines = [...err.preceding.map((p) => `warning: ${p}`), err.message];
  if (!err.message.startsWith(`${err.file}:`)) lines.push(`  (in ${errorLocation(err)})`);
  return lines;
}

export const msg = {
  badSection: (line: number) => `config: line ${line}: bad section name`,
  outsideSection: (line: number) => `config: line ${line}: all directives must belong to a section`,
  syntax: (line: number) => `config: line ${line}: syntax error`,
  badFlag: (line: number, flag: string) => `config: line ${line}: unrecognized flag "${flag}"`,
  badPort: (door: string, port: string) => `config: section ${door}: port ${port} is invalid`,
  badProtocol: (door: string) => `config: section ${door}: unknown protocol in knock sequence`,
  tooManyPorts: (door: string) => `config: section ${door}: too many ports in knock sequence`,
  emptySequence: (door: string) => `error: section '${door}' has an empty knock sequence`,
  noMoreSequences: (door: string) =>
    `no more sequences left in the one time sequences file for door ${door} --> disabling the door`,
  // Sesame-only checks (documented differences): same "config: line N:" prefix so tools still match.
  badTarget: (line: number, value: string) => `config: line ${line}: invalid target address "${value}"`,
  negativeTimeout: (line: number, key: string) => `config: line ${line}: ${key} cannot be negative`,
  // perror(path): a bare reason when the path is empty.
  sysError: (path: string, reason: string) => (path === '' ? reason : `${path}: ${reason}`),
} as const;

/** strerror()-style text for a Node fs error, as perror() would print it. */
export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EISDIR': return 'Is a directory';
    case 'ENOTDIR': return 'Not a directory';
    case 'EROFS': return 'Read-only file system';
    case 'ELOOP': return 'Too many levels of symbolic links';
    case 'EPERM': return 'Operation not permitted';
    case 'EFBIG':
    case 'EINVAL': return err instanceof Error ? err.message : String(err);
    default: return err instanceof Error ? err.message : String(err);
  }
}

/** A key's value is wrong: `config: line N: text`, thrown with the file and line. */
export function failAtLine(at: { readonly file: string; readonly line: number }, text: string): never {
  throw new ConfigError(`config: line ${at.line}: ${text}`, at.file, at.line);
}
