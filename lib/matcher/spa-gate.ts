// The SPA gate: a received payload and a clock in, one verdict out. Checks run cheapest first and
// stop at the first refusal: shape, HMAC per door in constant time, then the replay cache (for
// authenticated packets only: junk is never digested, which keeps a junk flood cheap), decryption,
// fields, message type, age, source and ports. Pure apart from the replay cache it is given; the
// daemon persists that and acts on the verdict.

import type { Door } from '../config/types.js';
import { checkShape, openCiphertext, verifyHmac, type SpaKeys } from '../spa/wire.js';
import { replayDigest, replayRefusal, type ReplayCache } from '../spa/replay.js';
import type { SpaTransport } from '../config/types.js';
import { fieldRefusal, judgeFields } from './spa-judge.js';
import { gpgWork } from './spa-gpg.js';
import { isGpgSized } from '../spa/gpg-framing.js';
import type { Client, GateResult, SpaCommand, SpaGrant, SpaPacket, SpaRefusal } from './spa-verdicts.js';

export type * from './spa-verdicts.js';
import { isHttpGet, parseHttpSpa } from '../spa/http-request.js';
import { clientAddress } from './forwarded-for.js';

/** A request path that could be SPA data: base64 characters only (after un-escaping). */
const SPA_SHAPED = /^[A-Za-z0-9+/]+$/;

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
      // Sniffed on a web server's port, every other request is someone's page view: not logged.
      if (!r.ok) return r.action === 'ignore' || via === 'http' ? ignore(r.reason) : { verdict: refuse(r.reason), kept: false };
      if (via === 'http' && !SPA_SHAPED.test(r.wire)) return ignore('not an SPA request path');
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
    // As fwknopd: 400 characters or more is GnuPG (fwknop_spa.md §5), for the doors that take it.
    const gpgDoors = candidates.filter(({ door }) => door.spa!.gpg);
    if (isGpgSized(p.payload) && gpgDoors.length > 0) return gpgWork(p, client, gpgDoors, this.cache, nowMs);
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
      if (!spa.key) continue; // a GnuPG-only door
      const ct = verifyHmac(p.payload, spa.hmacKey!, spa.hmacDigest);
      if (ct === undefined) continue;
      if (digest === undefined) {
        digest = replayDigest(p.payload);
        const seen = this.cache.seen(digest, nowMs);
        if (seen) return { verdict: refuse(replayRefusal(seen)), kept: false };
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
    const keys: SpaKeys = { key: spa.key!, hmacKey: spa.hmacKey!, hmacDigest: spa.hmacDigest, mode: spa.mode };
    const r = openCiphertext(ct, keys);
    if (!r.ok) return { type: 'refused', src: p.src, door, reason: fieldRefusal(r.error) };
    return judgeFields(p, client, door, doorIndex, r.fields, nowMs);
  }
}
