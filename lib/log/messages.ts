// knockd's log messages, text for text (docs/knockd-0.8.md §5.2). A message that ends in '\n' is one whose knockd
// format string ends in a newline: the log file then shows an empty line after it, and tools that
// parse knockd logs expect that.

/** `ip` or `ip (name)` when -l resolved the knocker's name. */
export type Knocker = string;

export const logMsg = {
  startingUp: (ifaces: string) => `starting up, listening on ${ifaces}`,
  shuttingDown: () => 'shutting down',
  stage: (src: Knocker, door: string, n: number) => `${src}: ${door}: Stage ${n}`,
  openSesame: (src: Knocker, door: string) => `${src}: ${door}: OPEN SESAME`,
  runningCommand: (door: string, cmd: string) => `${door}: running command: ${cmd}\n`,
  nonZero: (door: string, code: number) => `${door}: command returned non-zero status code (${code})`,
  commandTimeout: (src: Knocker, door: string) => `${src}: ${door}: command timeout`,
  sequenceTimeout: (src: Knocker, door: string, stage: number) => `${src}: ${door}: sequence timeout (stage ${stage})\n`,
  rereading: (path: string) => `re-reading config file: ${path}\n`,
  forkFailed: () => 'error: command fork failed!',
  startTruncated: () => "error: parsed start command has been truncated! --> won't execute it",
  stopTruncated: () => "error: parsed stop command has been truncated! --> won't execute start command",
  noMoreSequences: (door: string) =>
    `no more sequences left in the one time sequences file for door ${door} --> disabling the door\n`,
  disableFailed: (door: string) =>
    `error while disabling used one time sequence for door ${door} --> disabling the door\n`,
  // Sesame's SPA lines, in knockd's `ip: door: …` shape so log parsers can split them the same way.
  spaOpen: (src: Knocker, door: string, ip: string, ports: string, user: string, timeout: number) =>
    `${src}: ${door}: SPA: OPEN SESAME for ${ip} ${ports} (user ${user}, timeout ${timeout}s)`,
  spaCommand: (src: Knocker, door: string, argv: string, user: string, runAs: string, file: string, line: number) =>
    `${src}: ${door}: SPA: command ${argv} (user ${user}, run as ${runAs}; allowed by ${file} line ${line})`,
  spaRefused: (src: Knocker, door: string | undefined, reason: string) =>
    (door === undefined ? `${src}: SPA: refused: ${reason}` : `${src}: ${door}: SPA: refused: ${reason}`),
} as const;

/** Where the command runner and the daemon send log lines (a file, syslog, stderr: the log layer decides). */
export interface LogSink {
  /** A knockd log message; `also` adds stderr, as knockd does for some errors. */
  log(message: string, also?: { stderr?: boolean }): void;
}
