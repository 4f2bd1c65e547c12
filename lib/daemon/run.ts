// knockd as a process: start, signals, pid file, exit status (docs/knockd-0.8.md §6).
//   SIGHUP  reload (a bad file keeps the old config: knockd 0.8 exits)
//   SIGINT  run pending stops, exit 2;  SIGTERM  the same, exit 15 (Debian: SuccessExitStatus=0 2 15)

import { EXIT, exitStatusFor } from '../errors/exit.js';
import { DEFAULTS } from '../config/types.js';
import type { DaemonOptions } from './options.js';
import { Daemon } from './daemon.js';
import { CHILD_ENV, reportToParent, runInBackground } from './background.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { holdSignals, takeHeldSignals } from './early-signals.js';

const SIGNAL_EXIT = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm } as const;

export async function runDaemon(args: DaemonOptions, argv: readonly string[]): Promise<number> {
  const isChild = process.env[CHILD_ENV] === '1';
  if (args.daemon && !isChild) return runInBackground(argv);

  // Signals that arrive while starting are held (early-signals.ts) and acted on once started.
  holdSignals();
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(args);
  } catch (err) {
    const failed = exitStatusFor(err); // a config, start or firewall error; anything else is a bug
    if (!failed) throw err;
    const message = failed.lines.join('\n');
    if (isChild) reportToParent({ ok: false, message, code: failed.status });
    else process.stderr.write(`${message}\n`);
    takeHeldSignals();
    return failed.status;
  }

  let pidFile: string | undefined;
  if (args.daemon) {
    // PidFile in the config beats -p, as in knockd.
    pidFile = daemon.pidFileFrom(args.pidFile) ?? DEFAULTS.pidFile;
    const problem = writePidFile(pidFile);
    if (problem) daemon.note(problem);
  }
  if (isChild) reportToParent({ ok: true });

  return new Promise<number>((resolve) => {
    const stop = (signal: keyof typeof SIGNAL_EXIT) => {
      void daemon.shutdown().then(() => {
        if (pidFile) removePidFile(pidFile);
        resolve(SIGNAL_EXIT[signal]);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => daemon.reload());
    const held = takeHeldSignals();
    const early = held.find((s): s is keyof typeof SIGNAL_EXIT => s !== 'SIGHUP');
    if (early) stop(early);
    else if (held.includes('SIGHUP')) daemon.reload();
    process.on('SIGPIPE', () => { /* a closed stdout must not end the daemon */ });
    const crash = (err: unknown) => {
      void daemon.emergencyStop(err instanceof Error ? err.stack ?? err.message : String(err)).finally(() => {
        if (pidFile) removePidFile(pidFile);
        resolve(EXIT.failure);
      });
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
  });
}
