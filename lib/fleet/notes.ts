// What the nodes of a fleet tell each other through Redis: a grant made on one node (to be made on
// all), a one-time sequence used on one node (to be used up on all), shared-knock asks and answers,
// and the values stored beside them (claims, member heartbeats). Pure codec: the body of a sealed
// text (seal.ts) in, every field checked as strictly as packet data, because what another node
// says ends up in nft elements and %IP% commands here.

import { ipVersion } from '../net/ip.js';
import { canonicalAddress } from '../config/address.js';
import { MAX_GRANT_SECONDS } from '../config/types.js';
import { failure, type Result } from '../errors/result.js';
import { isProtocol, type ProtoPort } from '../net/protocol.js';
import type { NatGrant } from '../matcher/spa-nat.js';

/** Asks (or answers) one note carries: a full batch leaves at once, without waiting for the timer. */
export const MAX_ASKS = 1024;
const MAX_HITS = 64;
const MAX_PORTS = 32;
const MAX_DOOR_NAME = 256;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NOTE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** A replay digest: SHA-256 in base64 (lib/spa/replay.ts). */
const DIGEST = /^[A-Za-z0-9+/]{43}=?$/;

export interface GrantNote {
  readonly type: 'grant';
  /** Unique per grant: the origin node and a counter. */
  readonly id: string;
  /** The node that accepted the knock or SPA packet. */
  readonly node: string;
  readonly kind: 'knock' | 'spa';
  /** The door's section name: each node grants its own door of that name. */
  readonly door: string;
  readonly ip: string;
  readonly family: 4 | 6;
  /** Seconds granted at the origin. */
  readonly timeout: number;
  /** Fleet time (Redis clock, ms) of the grant: receivers count the remaining time from it. */
  readonly at: number;
  /** SPA: the ports granted (a NAT grant: its external port). */
  readonly ports?: readonly ProtoPort[];
  readonly nat?: NatGrant;
  /**
   * SPA: the packet's replay digest; TOTP: the used code's (door and time step). Every node keeps it
   * in its own replay cache, so a replay to another node is refused even if the claim in Redis was deleted.
   */
  readonly digest?: string;
}

export interface OneTimeNote {
  readonly type: 'onetime';
  readonly node: string;
  readonly door: string;
  /** The sequence that was used. */
  readonly sequence: readonly ProtoPort[];
}

/** Shared knocks: the node that saw a door's last port asks for the sources' hits elsewhere. */
export interface AskNote {
  readonly type: 'ask';
  readonly node: string;
  readonly asks: readonly Ask[];
}

export interface Ask {
  readonly id: string;
  readonly door: string;
  readonly src: string;
}

/** Answers to asks (batched like the asks): this node's hits of each source on the door (fleet time, ms). */
export interface HitsNote {
  readonly type: 'hits';
  readonly node: string;
  readonly answers: readonly Answer[];
}

export interface Answer {
  /** The asking node, and its ask. */
  readonly to: string;
  readonly id: string;
  readonly hits: readonly { readonly protocol: ProtoPort['protocol']; readonly port: number; readonly at: number }[];
}

export type FleetNote = GrantNote | OneTimeNote | AskNote | HitsNote;

/** Stored under a claim key (SET NX): who claimed it, for which key, until when (fleet time, ms). */
export interface ClaimValue {
  readonly type: 'claim';
  readonly node: string;
  readonly key: string;
  readonly until: number;
}

/** A member's heartbeat, stored under its member key while it lives. */
export interface MemberValue {
  readonly type: 'member';
  readonly node: string;
  /** Epoch ms the daemon started. */
  readonly since: number;
}

export type FleetValue = FleetNote | ClaimValue | MemberValue;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
// Names come from config sections: any text but control characters.
const isDoorName = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_DOOR_NAME && !/[\x00-\x1f\x7f]/.test(v);

function protoPorts(v: unknown, max: number): ProtoPort[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) return undefined;
  const out: ProtoPort[] = [];
  for (const p of v) {
    if (!isObj(p) || !isProtocol(p.protocol) || !isPort(p.port)) return undefined;
    out.push({ protocol: p.protocol, port: p.port });
  }
  return out;
}

function natGrant(v: unknown): NatGrant | undefined {
  if (!isObj(v) || (v.kind !== 'forward' && v.kind !== 'local')) return undefined;
  const external = protoPorts([v.external], 1)?.[0];
  if (!external || typeof v.address !== 'string' || ipVersion(v.address) !== 4 || !isPort(v.port)) return undefined;
  return { kind: v.kind, external, address: v.address, port: v.port };
}

function grantNote(o: Obj): Result<{ note: GrantNote }> {
  if (typeof o.id !== 'string' || !NOTE_ID.test(o.id)) return failure('bad id');
  if (o.kind !== 'knock' && o.kind !== 'spa') return failure('bad kind');
  if (typeof o.ip !== 'string') return failure('bad address');
  const ip = canonicalAddress(o.ip);
  const family = ip === undefined ? 0 : ipVersion(ip);
  if (ip === undefined || family !== o.family) return failure('bad address');
  if (!Number.isInteger(o.timeout) || (o.timeout as number) < 1 || (o.timeout as number) > MAX_GRANT_SECONDS) return failure('bad timeout');
  if (!isTime(o.at)) return failure('bad time');
  const ports = o.ports === undefined ? undefined : protoPorts(o.ports, MAX_PORTS);
  if (o.ports !== undefined && !ports) return failure('bad ports');
  if (o.kind === 'spa' && !ports) return failure('an SPA grant names its ports');
  const nat = o.nat === undefined ? undefined : natGrant(o.nat);
  if (o.nat !== undefined && (!nat || family !== 4)) return failure('bad NAT target');
  if (o.digest !== undefined && (typeof o.digest !== 'string' || !DIGEST.test(o.digest))) return failure('bad digest');
  return {
    ok: true,
    note: {
      type: 'grant', id: o.id, node: o.node as string, kind: o.kind, door: o.door as string, ip, family: family as 4 | 6,
      timeout: o.timeout as number, at: o.at, ...(ports ? { ports } : {}), ...(nat ? { nat } : {}),
      ...(o.digest !== undefined ? { digest: o.digest as string } : {}),
    },
  };
}

function askNote(o: Obj): Result<{ note: AskNote }> {
  if (!Array.isArray(o.asks) || o.asks.length === 0 || o.asks.length > MAX_ASKS) return failure('bad asks');
  const asks: Ask[] = [];
  for (const a of o.asks as unknown[]) {
    if (!isObj(a) || typeof a.id !== 'string' || !NOTE_ID.test(a.id) || !isDoorName(a.door) || typeof a.src !== 'string') {
      return failure('bad ask');
    }
    const src = canonicalAddress(a.src);
    if (src === undefined) return failure('bad ask address');
    asks.push({ id: a.id, door: a.door, src });
  }
  return { ok: true, note: { type: 'ask', node: o.node as string, asks } };
}

function answer(a: unknown): Answer | undefined {
  if (!isObj(a) || typeof a.to !== 'string' || !NODE_NAME.test(a.to) || typeof a.id !== 'string' || !NOTE_ID.test(a.id)) return undefined;
  if (!Array.isArray(a.hits) || a.hits.length === 0 || a.hits.length > MAX_HITS) return undefined;
  const hits: Answer['hits'][number][] = [];
  for (const h of a.hits as unknown[]) {
    if (!isObj(h) || !isProtocol(h.protocol) || !isPort(h.port) || typeof h.at !== 'number' || !Number.isFinite(h.at)) return undefined;
    hits.push({ protocol: h.protocol, port: h.port, at: h.at });
  }
  return { to: a.to, id: a.id, hits };
}

function hitsNote(o: Obj): Result<{ note: HitsNote }> {
  if (!Array.isArray(o.answers) || o.answers.length === 0 || o.answers.length > MAX_ASKS) return failure('bad answers');
  const answers: Answer[] = [];
  for (const a of o.answers as unknown[]) {
    const one = answer(a);
    if (!one) return failure('bad answer');
    answers.push(one);
  }
  return { ok: true, note: { type: 'hits', node: o.node as string, answers } };
}

/** Reads a sealed text's body; anything malformed or out of range is a failure naming why. */
export function readNote(o: unknown): Result<{ note: FleetValue }> {
  if (!isObj(o)) return failure('not an object');
  if (typeof o.node !== 'string' || !NODE_NAME.test(o.node)) return failure('bad node name');
  if (o.type === 'ask') return askNote(o);
  if (o.type === 'hits') return hitsNote(o);
  if (o.type === 'claim') {
    if (typeof o.key !== 'string' || o.key.length > 1024 || !isTime(o.until)) return failure('bad claim');
    return { ok: true, note: { type: 'claim', node: o.node, key: o.key, until: o.until } };
  }
  if (o.type === 'member') {
    if (!isTime(o.since)) return failure('bad member');
    return { ok: true, note: { type: 'member', node: o.node, since: o.since } };
  }
  if (!isDoorName(o.door)) return failure('bad door name');
  if (o.type === 'grant') return grantNote(o);
  if (o.type === 'onetime') {
    const sequence = protoPorts(o.sequence, MAX_PORTS);
    if (!sequence) return failure('bad sequence');
    return { ok: true, note: { type: 'onetime', node: o.node, door: o.door, sequence } };
  }
  return failure('unknown type');
}

/** The Redis keys and channel of a fleet, all under its name. */
export function fleetKeys(name: string) {
  return {
    events: `${name}:events`,
    grant: (node: string, id: string) => `${name}:grant:${node}:${id}`,
    grantPattern: `${name}:grant:*`,
    replay: (digest: string) => `${name}:replay:${digest}`,
    oneTime: (door: string, sequence: string) => `${name}:onetime:${encodeURIComponent(door)}:${sequence}`,
    member: (node: string) => `${name}:node:${node}`,
    memberPattern: `${name}:node:*`,
  };
}
