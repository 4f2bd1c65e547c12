// The SPA gate: a received payload and a clock in, one verdict out. Checks run cheapest first and
// stop at the first refusal: shape, HMAC per door in constant time, then the replay cache (for
// authenticated packets only: junk is never digested, which keeps a junk flood cheap), decryption,
// fields, message type, age, source and ports. Pure apart from the replay cache it is given; the
// daemon persists that and acts on the verdict.

import type { Door, KnockStep } from '../config/types.js';
import { checkShape, openCiphertext, verifyHmac, type SpaKeys } from '../spa/wire.js';
import type { SpaFields } from '../spa/message.js';
import { kindOf } from '../spa/message-types.js';
import { parseAccessMessage, parseCommandMessage } from '../spa/access.js';
import { allowedArgv } from '../spa/command-allow.js';
import { printable } from '../spa/printable.js';
import { replayDigest, type ReplayCache } from '../spa/replay.js';
import { formatProtoPort } from '../net/protocol.js';
import { isNatType, natDecision, type NatGrant } from './spa-nat.js';
import type { SpaTransport } from '../config/types.js';
import { isHttpGet, parseHttpSpa } from '../spa/http-request.js';
import { clientAddress } from './forwarded-for.js';

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
interface Client { readonly ip: string; readonly family: 4 | 6 }

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

export type SpaVerdict = SpaGrant | SpaCommand | SpaRefusal | SpaIgnored;

export interface GateResult {
  readonly verdict: SpaVerdict;
  /** A digest joined the authenticated part of the replay cache: persist it. */
  readonly kept: boolean;
}

const FIELD_TEXT: Record<string, string> = {
  decrypt: 'decryption failed',
  digest: 'bad message digest',
};

export class SpaGate {
  private local: ReadonlySet<string>;
  /** UDP ports some SPA door listens on (the doors never change for a gate). */
  readonly ports: ReadonlySet<number>;
  /** The SPA doors of each port, in config order (computed once: a junk flood asks per packet). */
  private readonly byPort = new Map<number, { door: Door; index: number }[]>();
  /** Every SPA door, in config order: HTTP and TCP messages are for any of them (as fwknopd's stanzas). */
  private readonly all: { door: Door; index: number }[] = [];

  constructor(
    doors: readonly Door[], private readonly cache: ReplayCache, localAddresses: Iterable<string> = [],
    private readonly transport?: SpaTransport,
  ) {
    this.local = new Set(localAddresses);
    this.ports = new Set(doors.flatMap((d) => (d.spa ? [d.spa.port] : [])));
    doors.forEach((door, index) => {
      if (!door.spa) return;
      const list = this.byPort.get(door.spa.port) ?? [];
      list.push({ door, index });
      this.byPort.set(door.spa.port, list);
      this.all.push({ door, index });
    });
  }

  /** The TCP port whose HTTP requests are sniffed as SPA, if any. */
  get httpPort(): number | undefined {
    return this.transport?.httpPort;
  }

  setLocalAddresses(addrs: Iterable<string>): void {
    this.local = new Set(addrs);
  }

  handle(p: SpaPacket, nowMs: number): GateResult {
    const ignore = (why: string): GateResult => ({ verdict: { type: 'ignored', why }, kept: false });
    const via = p.via ?? 'udp';
    if (via === 'http' && p.dport !== this.transport?.httpPort) return ignore('no SPA over HTTP on this port');
    if (via === 'tcp' && p.dport !== this.transport?.tcpPort) return ignore('no SPA over TCP on this port');
    const candidates = (via === 'udp' ? this.byPort.get(p.dport) ?? [] : this.all)
      .filter(({ door }) => (door.target !== undefined ? door.target === p.dst : this.local.has(p.dst)));
    if (candidates.length === 0) return ignore('no SPA door for this port and address');

    const refuse = (reason: string, door?: Door): SpaRefusal => ({ type: 'refused', src: p.src, door, reason });
    let wire = p.payload;
    let client: Client = { ip: p.src, family: p.family };
    if (via !== 'udp' && isHttpGet(wire)) {
      const r = parseHttpSpa(wire, this.transport!.anyUserAgent);
      if (!r.ok) return r.action === 'ignore' ? ignore(r.reason) : { verdict: refuse(r.reason), kept: false };
      const c = clientAddress(p.src, r.forwardedFor, this.transport!.trustedProxies);
      if (!c.ok) return { verdict: refuse(c.reason), kept: false };
      wire = r.wire;
      client = c;
    } else if (via === 'http') {
      return ignore('not an HTTP GET request');
    } else if (via === 'tcp') {
      wire = wire.trimEnd(); // a line ending after the message is no part of it
    }
    return this.decide({ ...p, payload: wire }, client, candidates, nowMs);
  }

  private decide(p: SpaPacket, client: Client, candidates: readonly { door: Door; index: number }[], nowMs: number): GateResult {
    const refuse = (reason: string, door?: Door): SpaRefusal => ({ type: 'refused', src: p.src, door, reason });
    const shape = checkShape(p.payload);
    if (shape === 'too-short') return { verdict: { type: 'ignored', why: 'too short for SPA' }, kept: false };
    if (shape === 'too-long') return { verdict: refuse('packet too long for Rijndael SPA'), kept: false };
    if (shape === 'prefix') return { verdict: refuse('bad packet format (starts with the Salted__ prefix)'), kept: false };
    if (shape === 'not-base64') return { verdict: refuse('not an SPA packet (not base64)'), kept: false };

    let digest: string | undefined;
    let kept = false;
    let first: SpaRefusal | undefined;
    for (const { door, index } of candidates) {
      const spa = door.spa!;
      const ct = verifyHmac(p.payload, spa.hmacKey, spa.hmacDigest);
      if (ct === undefined) continue;
      if (digest === undefined) {
        digest = replayDigest(p.payload);
        const seen = this.cache.seen(digest, nowMs);
        if (seen) {
          const when = new Date(seen.firstSeen).toISOString();
          return { verdict: refuse(`replay detected (first seen from ${seen.source} at ${when})`), kept: false };
        }
        // Authenticated: from here its digest is held for the whole age window, even if refused below.
        kept = this.cache.keep(digest, client.ip, nowMs);
      }
      const v = this.judge(p, client, door, index, ct, nowMs);
      if (v.type !== 'refused') return { verdict: { ...v, digest }, kept };
      first ??= v;
    }
    return { verdict: first ?? refuse('HMAC mismatch'), kept };
  }

  private judge(
    p: SpaPacket, client: Client, door: Door, doorIndex: number, ct: string, nowMs: number,
  ): Omit<SpaGrant, 'digest'> | Omit<SpaCommand, 'digest'> | SpaRefusal {
    const spa = door.spa!;
    const refuse = (reason: string): SpaRefusal => ({ type: 'refused', src: p.src, door, reason });
    const keys: SpaKeys = { key: spa.key, hmacKey: spa.hmacKey, hmacDigest: spa.hmacDigest, mode: spa.mode };
    const r = openCiphertext(ct, keys);
    if (!r.ok) return refuse(FIELD_TEXT[r.error] ?? `bad field (${r.error})`);
    const f = r.fields;
    if (kindOf(f.messageType)?.command && !spa.commands) return refuse('command messages are not allowed');
    if (isNatType(f.messageType) && !spa.nat) return refuse('NAT access is not enabled for this door');

    const off = Math.round(nowMs / 1000) - f.timestamp;
    if (Math.abs(off) > spa.maxAge) return refuse(`stale packet (${Math.abs(off)} seconds ${off > 0 ? 'old' : 'in the future'})`);
    if (kindOf(f.messageType)?.command) {
      const cmd = parseCommandMessage(f.message);
      if (!cmd) return refuse('bad field (message)'); // decodePlaintext checked it already
      const allowed = allowedArgv(cmd.command, spa.commands!.allowed);
      if (!allowed) return refuse(`command not allowed: "${printable(cmd.command)}"`);
      return { type: 'command', src: p.src, door, doorIndex, argv: allowed.argv, line: allowed.line, fields: f };
    }

    const access = parseAccessMessage(f.message);
    if (!access) return refuse('bad field (message)'); // decodePlaintext checked it already
    let ip = access.allowIp;
    let family: 4 | 6 = 4;
    if (ip === '0.0.0.0') {
      if (spa.requireSource) return refuse('0.0.0.0 requested but SPA_Require_Source_Address is set');
      ip = client.ip;
      family = client.family;
    }
    // A NAT request names the bastion port it will connect to: SPA_Open_Ports is for access requests.
    const denied = isNatType(f.messageType) ? [] : access.ports.filter((q) =>
      !spa.openPorts.some((o) => o.protocol === q.protocol && o.port === q.port));
    if (denied.length) return refuse(`port not allowed (${denied.map((d) => formatProtoPort(d)).join(',')})`);

    const timeout = f.clientTimeout > 0 ? Math.min(f.clientTimeout, spa.maxTimeout) : door.cmdTimeout;
    const decided = natDecision(spa, f.messageType, f.natAccess, access.ports, p.dst);
    if (decided && 'refusal' in decided) return refuse(decided.refusal);
    if (decided) {
      if (family !== 4) return refuse('NAT access needs an IPv4 address to allow');
      return {
        type: 'granted', src: p.src, door, doorIndex, ip, family, ports: [decided.nat.external], timeout, fields: f, nat: decided.nat,
      };
    }
    const ports = access.ports
      .filter((s, i, all) => all.findIndex((o) => o.protocol === s.protocol && o.port === s.port) === i);
    return { type: 'granted', src: p.src, door, doorIndex, ip, family, ports, timeout, fields: f };
  }
}
