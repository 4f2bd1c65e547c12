// Which command a door runs for a knocker, with %IP% put in. Pure.

import { isIP } from 'node:net';
import type { Door } from '../config/types.js';

/** knockd refuses to run an expanded command of this many bytes or more. */
export const MAX_COMMAND_BYTES = 4096;

export interface DoorCommands {
  /** undefined or '' = nothing runs. */
  readonly start: string | undefined;
  /** undefined = no stop step; '' = the stop step exists but runs nothing. */
  readonly stop: string | undefined;
}

/** IPv6 knockers use the `_6` variants, falling back to the IPv4 ones only when unset (spec 2.7). */
export function commandsFor(door: Door, family: 4 | 6): DoorCommands {
  if (family === 6) {
    return {
      start: door.startCommand6 !== undefined ? door.startCommand6 : door.startCommand,
      stop: door.stopCommand6 !== undefined ? door.stopCommand6 : door.stopCommand,
    };
  }
  return { start: door.startCommand, stop: door.stopCommand };
}

/**
 * Replaces every `%IP%` (case-sensitive, the only token) with the numeric address. The address is
 * checked to be a plain IP literal first: nothing else may ever reach the shell through it.
 */
export function substituteIP(command: string, ip: string): string {
  if (isIP(ip) === 0 || ip.includes('%')) throw new TypeError(`refusing to substitute a non-IP value: ${JSON.stringify(ip)}`);
  return command.split('%IP%').join(ip);
}

export function tooLong(command: string): boolean {
  return Buffer.byteLength(command, 'utf8') >= MAX_COMMAND_BYTES;
}
