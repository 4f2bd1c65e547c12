// Carries the engine's effects out, in order: each kind has its one owner in the shell.

import type { CommandRunner } from '../actions/runner.js';
import type { Effect } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
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
}

export function carryOut(effects: readonly Effect[], shell: Shell): void {
  for (const e of effects) {
    switch (e.kind) {
      case 'log': shell.logger.log(e.line, e.stderr ? { stderr: true } : undefined); break;
      case 'debug': shell.logger.debug(e.line); break;
      case 'run': shell.runner.open(e.request); break;
      case 'grant': shell.grant(e); break;
      case 'rotate':
        carryOut(shell.rotated(e.doorIndex, rotateOneTime(e.door.name, e.door.oneTime!.path, e.line, e.used)), shell);
        break;
      case 'filter': shell.refreshFilter(); break;
    }
  }
}
