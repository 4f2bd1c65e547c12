// Which command a door runs for a knocker, with %IP% put in. Pure.

import type { ProtoPort } from '../net/protocol.js';
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

/** IPv6 knockers use the `_6` variants, falling back to the IPv4 ones only when unset (docs/knockd-0.8.md §2.7). */
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

/** What an SPA grant adds to %IP%: one requested proto/port and the granted time. */
export interface SpaVars extends ProtoPort {
  readonly timeout: number;
  /** A NAT grant's target: %NAT_IP% and %NAT_PORT%. */
  readonly nat?: { readonly address: string; readonly port: number };
}

/**
 * %IP% plus, for SPA grants, %PROTO%, %PORT% and %TIMEOUT%. Each value is checked to be what it
 * claims (a protocol name, whole numbers) before it goes anywhere near the shell.
 */
export function substitute(command: string, ip: string, spa?: SpaVars): string {
  if (!spa) return substituteIP(command, ip);
  const { protocol, port, timeout } = spa;
  if (isIP(ip) === 0 || (protocol !== 'tcp' && protocol !== 'udp') || !Number.isInteger(port) || port < 1 || port > 65535
    || !Number.isInteger(timeout) || timeout < 0) {
    throw new TypeError(`refusing to substitute invalid values: ${JSON.stringify({ ip, ...spa })}`);
  }
  const values: Record<string, string> = { IP: ip, PROTO: protocol, PORT: String(port), TIMEOUT: String(timeout) };
  if (spa.nat) {
    const { address, port: natPort } = spa.nat;
    if (isIP(address) !== 4 || !Number.isInteger(natPort) || natPort < 1 || natPort > 65535) {
      throw new TypeError(`refusing to substitute invalid NAT values: ${JSON.stringify(spa.nat)}`);
    }
    values['NAT_IP'] = address;
    values['NAT_PORT'] = String(natPort);
  }
  // One pass over the template: a substituted value is never scanned for tokens again. %NAT_IP%
  // and %NAT_PORT% stay as written for a grant without NAT, as an unknown %TOKEN% does.
  return command.replace(/%(IP|PROTO|PORT|TIMEOUT|NAT_IP|NAT_PORT)%/g, (all, name: string) => values[name] ?? all);
}

export function tooLong(command: string): boolean {
  return Buffer.byteLength(command, 'utf8') >= MAX_COMMAND_BYTES;
}
