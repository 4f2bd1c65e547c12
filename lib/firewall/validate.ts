// Every value that goes into an nft command is checked here first; nothing else is ever
// interpolated into a batch.

import { parseAddress } from '../config/cidr.js';
import { MAX_GRANT_SECONDS } from '../config/types.js';
import type { Protocol } from '../net/protocol.js';
import { ERROR_CODES, SesameError } from '../errors/errors.js';

export type Proto = Protocol;

/** The longest grant: a week. Knock doors open for seconds or minutes. */
export const MAX_TIMEOUT = MAX_GRANT_SECONDS;

export class FirewallInputError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.firewallInput);
    this.name = 'FirewallInputError';
  }
}

/** An address in canonical text and its family; IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4. */
export interface Address { family: 4 | 6; text: string }

export function checkAddress(value: unknown): Address {
  const a = typeof value === 'string' ? parseAddress(value) : undefined;
  if (!a) throw new FirewallInputError(`not an IP address: ${JSON.stringify(value)}`);
  return { family: a.family, text: a.text };
}

export function checkProto(value: unknown): Proto {
  if (value === 'tcp' || value === 'udp') return value;
  throw new FirewallInputError(`protocol must be tcp or udp: ${JSON.stringify(value)}`);
}

export function checkPort(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) return value;
  throw new FirewallInputError(`port must be an integer 1..65535: ${JSON.stringify(value)}`);
}

export function checkTimeout(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TIMEOUT) return value;
  throw new FirewallInputError(`timeout must be an integer 1..${MAX_TIMEOUT} seconds: ${JSON.stringify(value)}`);
}

/** nft identifiers we create: a letter, then letters, digits, `_`; at most 63 characters. */
export function checkName(value: unknown): string {
  if (typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(value)) return value;
  throw new FirewallInputError(`not a usable nftables name: ${JSON.stringify(value)}`);
}
