// The SPA gate's vocabulary: what comes in (a payload and how it came) and what it decides.

import type { Door, KnockStep } from '../config/types.js';
import type { SpaFields } from '../spa/message.js';
import type { NatGrant } from './spa-nat.js';

export interface SpaPacket {
  readonly src: string;
  readonly dst: string;
  readonly family: 4 | 6;
  readonly dport: number;
  readonly payload: string;
  /**
   * How it came: a UDP datagram (the default), a TCP segment sniffed on SPA_HTTP_Port, or the
   * message of a connection to SPA_TCP_Port. HTTP requests are un-escaped first, and their
   * X-Forwarded-For believed from trusted proxies only.
   */
  readonly via?: 'udp' | 'http' | 'tcp';
}

/** Who the message is from: the peer, or the client a trusted proxy forwarded it for. */
export interface Client { readonly ip: string; readonly family: 4 | 6 }

export interface SpaGrant {
  readonly type: 'granted';
  readonly src: string;
  readonly door: Door;
  readonly doorIndex: number;
  /** Address that gets access: the message's, or the packet's source for 0.0.0.0. */
  readonly ip: string;
  readonly family: 4 | 6;
  readonly ports: readonly KnockStep[];
  /** Seconds: the client's request capped by SPA_Max_Timeout, else Cmd_Timeout. */
  readonly timeout: number;
  readonly fields: SpaFields;
  /** A NAT grant (SPA_Forward, SPA_Local_NAT, SPA_Force_NAT): `ports` is then its external port. */
  readonly nat?: NatGrant;
  /** The packet's replay digest (a fleet claims it in Redis before granting). */
  readonly digest: string;
}

/** A command message whose command the door's allow file lists: run `argv` (no shell). */
export interface SpaCommand {
  readonly type: 'command';
  readonly src: string;
  readonly door: Door;
  readonly doorIndex: number;
  readonly argv: readonly string[];
  /** The allow file's line that matched. */
  readonly line: number;
  readonly fields: SpaFields;
  readonly digest: string;
}

export interface SpaRefusal {
  readonly type: 'refused';
  readonly src: string;
  /** The door whose HMAC matched, when one did. */
  readonly door: Door | undefined;
  readonly reason: string;
}

/** Not an SPA packet for any door (wrong port or address, or too short to be one: fwknopd is silent too). */
export interface SpaIgnored { readonly type: 'ignored'; readonly why: string }

/**
 * A GnuPG message whose wire passed every check that needs no gpg (shape, HMAC where the door has
 * one, the replay cache): the shell decrypts it (lib/gpg), trying each door's readings in order,
 * and hands the result back; spa-gpg.ts finishes the verdict.
 */
export interface SpaGpgWork {
  readonly type: 'gpg';
  readonly src: string;
  readonly packet: SpaPacket;
  readonly client: Client;
  readonly digest: string;
  /** The digest was kept already (an HMAC authenticated the wire). */
  readonly authenticated: boolean;
  readonly tries: readonly { readonly door: Door; readonly doorIndex: number; readonly messages: readonly Uint8Array[] }[];
}

export type SpaVerdict = SpaGrant | SpaCommand | SpaGpgWork | SpaRefusal | SpaIgnored;

export interface GateResult {
  readonly verdict: SpaVerdict;
  /** A digest joined the authenticated part of the replay cache: persist it. */
  readonly kept: boolean;
}

