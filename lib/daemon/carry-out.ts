// Carries the engine's effects out, in order: each kind has its one owner in the shell.

import type { CommandRunner } from '../actions/runner.js';
import type { Effect } from '../engine/engine.js';
import type { FleetClaim, GrantShare } from '../engine/effects.js';
import type { Logger } from '../log/logger.js';
import type { Ban } from '../matcher/bans.js';
import type { SesameEvent } from '../events/types.js';
import type { RotateResult } from '../onetime/rotate.js';
import { rotateOneTime } from '../onetime/rotate.js';

export interface Shell {
  readonly logger: Logger;
  readonly runner: CommandRunner;
  /** An `Open =` grant (none without Open doors). */
  grant(e: Extract<Effect, { kind: 'grant' }>): void;
  /** Hands a one-time door's rotation back to the engine; returns the effects that follow. */
  rotated(doorIndex: number, r: RotateResult): readonly Effect[];
  refreshFilter(): void;
  /** A ban was made: keep the bans in force, tell the kernel. */
  banned(ban: Ban): void;
  /** An allowed SPA command message. */
  exec(e: Extract<Effect, { kind: 'exec' }>): void;
  /** A GnuPG SPA message to decrypt (the answer comes back as a 'gpg-done' input). */
  gpg(e: Extract<Effect, { kind: 'gpg' }>): void;
  /** Something to count and tell (metrics, event sinks). */
  event?(e: SesameEvent): void;
  /** Fleet mode: tell the other nodes of a grant, and claim digests and sequences fleet-wide. */
  share?(g: GrantShare): void;
  claim?(c: FleetClaim): Promise<'won' | 'lost' | 'down'>;
  ask?(e: Extract<Effect, { kind: 'ask' }>): void;
}

export function carryOut(effects: readonly Effect[], shell: Shell): void {
  for (const e of effects) {
    switch (e.kind) {
      case 'log': shell.logger.log(e.line, e.stderr ? { stderr: true } : undefined); break;
      case 'debug': shell.logger.debug(e.line); break;
      case 'run': shell.runner.open(e.request); break;
      case 'grant': shell.grant(e); break;
      case 'exec': shell.exec(e); break;
      case 'gpg': shell.gpg(e); break;
      case 'rotate':
        carryOut(shell.rotated(e.doorIndex, rotateOneTime(e.door.name, e.door.oneTime!.path, e.line, e.used)), shell);
        break;
      case 'filter': shell.refreshFilter(); break;
      case 'ban': shell.banned(e.ban); break;
      case 'event': shell.event?.(e.event); break;
      case 'share': shell.share?.(e.grant); break;
      case 'ask': shell.ask?.(e); break;
      case 'claim': {
        // Only the first node to claim carries the grant out; without Redis, this node decides alone.
        if (!shell.claim) { carryOut(e.granted, shell); break; }
        void shell.claim(e.claim).then((r) => carryOut(r === 'lost' ? e.refused : e.granted, shell));
        break;
      }
    }
  }
}
