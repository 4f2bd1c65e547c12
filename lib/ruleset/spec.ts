// What the ruleset compiler is given: the doors as they match now (one-time doors move on), where
// knocks may arrive, and the names and numbers of this daemon's table and NFLOG group. Plain data.

import type { Door, KnockStep } from '../config/types.js';

export interface KernelDoor {
  /** The door's index in the config (events name it). */
  readonly index: number;
  /** Bumped when the door's sequence changes (one-time): its sets and chains get new names. */
  readonly version: number;
  readonly door: Door;
  /** The sequence it matches now (a one-time door's current line); at least one step. */
  readonly sequence: readonly KnockStep[];
}

export interface RulesetSpec {
  /** nftables table (inet): Sesame's own, replaced whole at start-up and on SIGHUP. */
  readonly table: string;
  /** NFLOG group the events are sent to. */
  readonly group: number;
  /** Changes with every full install, so events of an earlier ruleset are told apart. */
  readonly generation: number;
  /** Interfaces knocks may arrive on; empty or containing `any`: every interface. */
  readonly interfaces: readonly string[];
  readonly families: readonly (4 | 6)[];
  /** Local addresses (doors without Target match knocks sent to them). */
  readonly local: readonly string[];
  readonly doors: readonly KernelDoor[];
  /** UDP ports SPA datagrams are sniffed on (each door's SPA_Port). */
  readonly spaPorts: readonly number[];
  /** TCP port whose segments starting an HTTP GET are sent up as SPA over HTTP (SPA_HTTP_Port). */
  readonly spaHttpPort?: number;
  /**
   * SPA datagrams the kernel queues before it sends them as one netlink message: 1 (each at once),
   * or more where the daemon made the NFLOG group flush within a few ms anyway (a junk flood then
   * costs one read per batch; knock events still go at once, and take the queued datagrams along).
   */
  readonly spaQueue?: number;
  /**
   * Sources banned (Max_Failures): their knocks are not even tracked. Undefined when no door bans
   * (the table then has no ban sets); the elements are the bans in force at install time.
   */
  readonly bans?: readonly BanElement[];
  /** Most sources one stage set holds (kernel memory bound). */
  readonly setSize: number;
  /**
   * Overflow tiers of every stage set (live and 2..N-1), tried in order when the ones before are
   * full: a flood of spoofed sources that fills a set then only shortens how long new attempts
   * last, and never stops them from being recorded (up to the last tier's rate, size ÷ timeout).
   */
  readonly overflow?: readonly SetTier[];
  /** Stage, reset and SPA events sent to the daemon per second (and their burst): a flood's cap. */
  readonly eventRate: number;
  readonly eventBurst: number;
}

/** A banned IPv4 address or IPv6 /64 and how long its ban has left (ms). */
export interface BanElement {
  readonly src: string;
  readonly timeoutMs: number;
}

/**
 * Most bans the kernel holds: twice the engine's (lib/matcher/bans.ts), so a set that still holds
 * bans the engine saw end (clocks round differently) never refuses one the engine made.
 */
export const BAN_SET_SIZE = 131_072;

/** One overflow tier: its size, and its element timeout (ms; a door's Seq_Timeout if shorter). */
export interface SetTier {
  readonly size: number;
  readonly timeoutMs: number;
}

/** The NFLOG prefix of an event: `<tag> <generation> <door> <kind> <stage>`; see events.ts. */
export const EVENT_TAG = 'sesame';
