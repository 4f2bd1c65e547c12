// The parser's drafts (a door or [options] while its section is read) and the key-handler
// interfaces: shared by the key tables (keys.ts, spa-keys.ts) and the parser, so neither table
// imports the other's types.

import type { KnockStep, ListenAddress, Matching, NatAddress, NatDestination, OneTimeSource, SpaDoor, TcpFlagRule } from './types.js';
import type { ProtoPort } from '../net/protocol.js';
import type { Network } from './cidr.js';
import type { CommandTemplate } from '../spa/command-allow.js';
import type { GpgId } from '../spa/gpg-ids.js';

export interface SpaDraft {
  /** Line of the first SPA_ key: where door-level SPA errors point. */
  line: number;
  key?: { bytes: Buffer; line: number };
  hmacKey?: { bytes: Buffer; line: number };
  hmacDigest?: SpaDoor['hmacDigest'];
  mode?: SpaDoor['mode'];
  port?: number;
  openPorts?: KnockStep[];
  maxAge?: number;
  maxTimeout?: number;
  requireSource?: boolean;
  forward?: { list: NatDestination[]; line: number };
  localNat?: { list: ProtoPort[]; line: number };
  forceNat?: { to: NatAddress; line: number };
  snat?: { to: string; line: number };
  commands?: { path: string; list: CommandTemplate[]; line: number };
  commandUser?: { name: string; line: number };
  gpg?: {
    line: number; homeDir?: string; decryptId?: string; passphrase?: string; allowNoPw?: boolean; requireSig?: boolean;
    remoteIds?: { ids: readonly GpgId[]; line: number };
  };
}

export interface DoorDraft {
  name: string;
  line: number;
  sequence: KnockStep[] | undefined;
  seqTimeout: number;
  cmdTimeout: number;
  startCommand: string | undefined;
  startCommand6: string | undefined;
  stopCommand: string | undefined;
  stopCommand6: string | undefined;
  tcpFlags: TcpFlagRule;
  target: string | undefined;
  oneTime: OneTimeSource | undefined;
  spa: SpaDraft | undefined;
  open: KnockStep[] | undefined;
  openLine: number | undefined;
  sharedKnocks: number | undefined;
  totp?: {
    line: number; path?: string; secret?: Uint8Array; digits?: 6 | 8; portBase?: { port: number; line: number }; window?: number;
    protocol?: 'tcp' | 'udp';
  };
  bans?: { line: number; maxFailures?: number; failureWindow?: number; banTime?: number };
}

export interface OptionsDraft {
  useSyslog: boolean;
  logFile: string | undefined;
  pidFile: string | undefined;
  interfaces: string[] | undefined;
  matching: Matching | undefined;
  captureBuffer: number | undefined;
  metricsListen?: ListenAddress;
  events?: {
    firstLine: number;
    webhook?: { url: string; line: number };
    secret?: { path: string; secret: string; line: number };
    command?: string;
  };
  spaTransport?: {
    firstLine: number;
    httpPort?: number;
    anyUserAgent?: boolean;
    trustedProxies?: { list: Network[]; line: number };
    tcpPort?: number;
  };
  fleet?: {
    firstLine: number;
    redis?: { url: string; line: number };
    passwordFile?: string;
    keyFile?: string;
    sentinelPasswordFile?: { path: string; line: number };
    name?: string;
    node?: string;
  };
}

/** What a key handler may read and change while the file is parsed. */
export interface KeyContext {
  readonly file: string;
  readonly line: number;
  readonly options: OptionsDraft;
  readonly warnings: string[];
  /** Loads the first sequence of a one-time file for `door`; provided by the parser. */
  loadOneTime(door: DoorDraft, path: string): void;
  /** Reads a file only root may write (SPA_Command_Allow_File); throws a ConfigError naming this line. */
  readPrivate(path: string): string;
  /** Reads a secret (TOTP_Secret_File): root's or this user's, readable and writable by its owner alone. */
  readSecret(path: string): string;
  /** Checks a program to run (Event_Command): a regular executable file root's (or this user's), writable by no one else. */
  checkProgram(path: string): void;
}

export interface DoorKey {
  readonly names: readonly string[];
  apply(door: DoorDraft, value: string, ctx: KeyContext): void;
}

export interface OptionKey {
  readonly names: readonly string[];
  apply(value: string, ctx: KeyContext): void;
}

/** The door's SPA draft, begun at the line of its first SPA_ key. */
export function spaDraft(door: DoorDraft, ctx: KeyContext): SpaDraft {
  door.spa ??= { line: ctx.line };
  return door.spa;
}
