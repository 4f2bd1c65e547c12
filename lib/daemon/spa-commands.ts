// Carries out allowed SPA command messages: at most MAX_RUNNING at once (a burst of valid packets
// cannot fork without bound; the rest are refused and logged), each logged with how it ended.

import type { Door } from '../config/types.js';
import { runArgv, type ArgvResult } from '../actions/run-argv.js';
import { lookupUser } from './users.js';

export const MAX_RUNNING = 8;

export class SpaCommands {
  private running = 0;

  constructor(
    private readonly log: (line: string) => void, private readonly passwd = '/etc/passwd',
    private readonly done: (door: string, ok: boolean) => void = () => {},
  ) {}

  run(knocker: string, door: Door, argv: readonly string[]): void {
    const user = door.spa!.commands!.user;
    const as = user === undefined ? undefined : lookupUser(user, this.passwd);
    const head = `${knocker}: ${door.name}: SPA: command ${argv[0]}`;
    if (user !== undefined && !as) {
      this.log(`${head}: not run: no user ${user} in ${this.passwd}`);
      this.done(door.name, false);
      return;
    }
    if (this.running >= MAX_RUNNING) {
      this.log(`${head}: not run: ${MAX_RUNNING} commands are running already`);
      this.done(door.name, false);
      return;
    }
    this.running++;
    void runArgv(argv, door.cmdTimeout * 1000, as).then((r) => {
      this.running--;
      this.log(`${head} ${outcome(r, door.cmdTimeout)}`);
      this.done(door.name, !r.error && !r.timedOut && !r.signal && r.code === 0);
    });
  }
}

function outcome(r: ArgvResult, timeout: number): string {
  if (r.error) return `could not be run: ${r.error.message}`;
  if (r.timedOut) return `killed after ${timeout}s (Cmd_Timeout)`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exited with status ${r.code}`;
}
