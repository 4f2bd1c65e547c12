// The engine of one configuration: knock packets, SPA datagrams and clocks in; effects out (log
// lines, commands, grants, one-time rotations, filter changes). Pure policy: it owns the matcher,
// the SPA gate, the replay cache and the log throttles, and touches no file, socket, process or
// timer. The shell (lib/daemon) carries the effects out and feeds it; a reload builds the next
// engine from this one (next()), which is the one place that decides what carries over. The
// kernel-matching path and the fleet feed the same engine from other event sources.

import type { NatGrant } from '../matcher/spa-nat.js';
import type { Config } from '../config/types.js';
import { DEFAULTS } from '../config/types.js';
import { buildFilter } from '../matcher/capture-filter.js';
import { logMsg } from '../log/messages.js';
import { DoublingLog, LogRateLimit } from '../log/rate-limit.js';
import { Matcher } from '../matcher/matcher.js';
import { SpaGate } from '../matcher/spa-gate.js';
import type { MatchEvent, Packet } from '../matcher/types.js';
import { KernelAttempts } from '../matcher/kernel-attempts.js';
import type { KernelEvent } from '../ruleset/events.js';
import type { KernelDoor } from '../ruleset/spec.js';
import type { RotateResult } from '../onetime/rotate.js';
import { ReplayCache, type ReplayEntry } from '../spa/replay.js';
import type { Effect } from './effects.js';
import { knockLine } from './lines.js';
import { formatProtoPort } from '../net/protocol.js';
import type { GrantNote, OneTimeNote } from '../fleet/notes.js';
import { fleetDoor, fleetGrantEffects } from './fleet.js';
import { SharedKnocks, type Hit } from '../matcher/shared-knocks.js';

export type { Effect } from './effects.js';
export { knockLine } from './lines.js';

/** `10.0.0.5:3306`, or `local port 22` for local NAT. */
const natText = (n: NatGrant) => (n.kind === 'local' ? `local port ${n.port}` : `${n.address}:${n.port}`);

/** What the engine asks of its shell synchronously, because a decision depends on the answer. */
export interface EngineDeps {
  /** `ip`, or `ip (name)` under -l. */
  display(ip: string): string;
  /**
   * Writes the replay cache's authenticated digests; called before an SPA grant is decided, so a
   * replay after a crash is still refused. False: not written, and nothing is opened (fail closed).
   */
  persistReplay(entries: readonly ReplayEntry[]): boolean;
}

export interface EngineOptions {
  readonly localAddresses: readonly string[];
  readonly maxAttempts: number;
  readonly onlyIPv4: boolean;
  /** Who matches knocks: this engine's matcher (packets in), or nftables (kernel events in). */
  readonly matching?: 'pcap' | 'kernel';
  /** Replay digests kept by an earlier run (state file) or engine, and the wall time now. */
  readonly replay?: { readonly entries: readonly unknown[]; readonly now: number };
  /** This node is in a fleet: grants are shared, SPA digests and one-time sequences claimed first. */
  readonly fleet?: boolean;
  /** Emit the per-packet `debug` effects (-D); off, a flood costs no line per packet. Default on. */
  readonly debug?: boolean;
}

/** Digests are held twice the widest age window: a packet may be stamped up to SPA_Max_Age ahead. */
function replayCacheFor(config: Config): ReplayCache {
  const maxAge = Math.max(DEFAULTS.spaMaxAge, ...config.doors.map((d) => d.spa?.maxAge ?? 0));
  return new ReplayCache({ windowMs: 2 * maxAge * 1000 });
}

export class Engine {
  private readonly matcher: Matcher;
  private readonly gate: SpaGate;
  private readonly replay: ReplayCache;
  /** Wall clock of the latest input (ms): the log throttles run on it. */
  private wall = 0;
  private readonly spaLog = new LogRateLimit(20, 50, () => this.wall);
  private readonly fleetLog = new LogRateLimit(20, 50, () => this.wall, (n) => `${n} fleet notes not logged (rate limit)`);
  // Stage and timeout lines: far above any real knocking, far below a flood's (a line per
  // spoofed packet was ~90 GB of log a day at top rate).
  private readonly knockLog = new LogRateLimit(100, 500, () => this.wall, (n) => `${n} knock events not logged (rate limit)`);
  private readonly evictionsLog = new DoublingLog();
  /** One-time doors: the file line their current sequence came from. */
  private readonly oneTimeLines = new Map<number, number>();
  private local: readonly string[];
  private localSet: ReadonlySet<string>;
  /** Fleet_Shared_Knocks doors: this node's recent hits on their ports. */
  private readonly shared: SharedKnocks | undefined;
  /** Kernel matching: attempts heard of (for timeout lines), and each door's ruleset version. */
  private readonly kernelAttempts: KernelAttempts;
  private readonly versions: number[];
  /** Door index by name (the first door of a name, as findIndex would): fleet notes name doors. */
  private readonly doorIndex = new Map<string, number>();
  /** Whether per-packet `debug` effects are built (EngineOptions.debug, default on). */
  private readonly debug: boolean;

  constructor(readonly config: Config, private readonly opts: EngineOptions, private readonly deps: EngineDeps) {
    this.local = opts.localAddresses;
    this.localSet = new Set(this.local);
    this.shared = opts.fleet && config.doors.some((d) => d.sharedKnocks !== undefined) ? new SharedKnocks(config.doors) : undefined;
    this.matcher = new Matcher(config.doors, { localAddresses: this.local, maxAttempts: opts.maxAttempts });
    this.replay = replayCacheFor(config);
    if (opts.replay) this.replay.load(opts.replay.entries, opts.replay.now);
    this.gate = new SpaGate(config.doors, this.replay, this.local);
    config.doors.forEach((d, i) => { if (d.oneTime) this.oneTimeLines.set(i, d.oneTime.line); });
    this.kernelAttempts = new KernelAttempts(config.doors, opts.maxAttempts);
    this.versions = config.doors.map(() => 0);
    config.doors.forEach((d, i) => { if (!this.doorIndex.has(d.name)) this.doorIndex.set(d.name, i); });
    this.debug = opts.debug !== false;
  }

  get matching(): 'pcap' | 'kernel' {
    return this.opts.matching ?? 'pcap';
  }

  /**
   * SIGHUP: the engine for a new config. Carried over: local addresses and the kept replay
   * digests (a reload must not let a captured SPA packet in again). Dropped: knocks in progress,
   * as knockd does, and the log throttles' state.
   */
  next(config: Config, wall: number, matching = this.matching): Engine {
    return new Engine(config, { ...this.opts, matching, localAddresses: this.local, replay: { entries: this.replay.kept(), now: wall } }, this.deps);
  }

  /** Whether a packet concerns this engine at all (-4 drops IPv6): the shell asks before any lookup. */
  accepts(p: Packet): boolean {
    return !(this.opts.onlyIPv4 && p.family !== 4);
  }

  /** One captured packet, at its arrival time (`at`, monotonic ms; `wall`, epoch ms). */
  packet(p: Packet, at: number, wall: number): Effect[] {
    this.wall = wall;
    if (!this.accepts(p)) return [];
    const out: Effect[] = this.debug ? [{ kind: 'debug', line: `${p.protocol}: ${p.src} -> ${p.dst}:${p.dport}` }] : [];
    if (p.protocol === 'udp' && this.gate.ports.has(p.dport)) this.spa(p, wall, out);
    // Under kernel matching only SPA datagrams arrive as packets; nftables matched the knocks.
    if (this.matching !== 'pcap') return out;
    const events = this.matcher.handle(p, at);
    this.events(events, out);
    for (const i of this.shared?.record(p, p.seenAt ?? wall, this.localSet) ?? []) {
      // The last port, but no local open: the rest of the sequence may have reached other nodes.
      if (!events.some((e) => e.type === 'open' && e.doorIndex === i)) out.push({ kind: 'ask', door: this.config.doors[i]!.name, src: p.src, family: p.family });
    }
    return out;
  }

  /** Fleet_Shared_Knocks: this node's hits of `src` on door `door` (another node asks). */
  fleetHits(door: string, src: string, wall: number): Hit[] {
    const index = this.doorIndex.get(door);
    return index !== undefined && this.shared?.isShared(index) ? this.shared.hitsOf(index, src, wall) : [];
  }

  /**
   * Fleet_Shared_Knocks: other nodes' hits of `src` for an ask of this node. If they and this
   * node's own complete the sequence, the door opens here as for a local knock.
   */
  fleetAnswered(door: string, src: string, family: 4 | 6, others: readonly Hit[], nodes: readonly string[], wall: number): Effect[] {
    this.wall = wall;
    const index = this.doorIndex.get(door) ?? -1;
    const d = this.config.doors[index];
    if (!d || !this.shared?.isShared(index) || !this.matcher.isEnabled(index) || !this.shared.completes(index, src, others, wall)) return [];
    const out: Effect[] = [{ kind: 'log', line: `${this.deps.display(src)}: ${door}: sequence completed with knocks seen by fleet node${nodes.length === 1 ? '' : 's'} ${nodes.join(', ')}` }];
    this.events([{ type: 'open', src, family, doorIndex: index, door: d }], out);
    return out;
  }

  /**
   * A kernel matching event (NFLOG) with the packet that caused it. Events of a door version
   * that is no longer installed (a one-time door moved on meanwhile) are stale and ignored.
   */
  kernelEvent(e: KernelEvent, p: Packet, at: number, wall: number): Effect[] {
    this.wall = wall;
    if (!this.accepts(p)) return [];
    if (e.kind === 'spa') return this.packet(p, at, wall);
    const d = e.door;
    if (!d || this.versions[d.index] !== d.version || !this.matcher.isEnabled(d.index)) return [];
    const out: Effect[] = this.debug ? [{ kind: 'debug', line: `kernel: ${e.kind} ${e.stage}: ${p.protocol}: ${p.src} -> ${p.dst}:${p.dport}` }] : [];
    this.events(this.kernelAttempts.handle({ kind: e.kind, doorIndex: d.index, stage: e.stage, src: p.src, family: p.family }, at), out);
    return out;
  }

  /** Stage and reset events the kernel's rate limit kept from the daemon: counted in the log's summary. */
  unheardKnockEvents(n: number): void {
    this.knockLog.skip(n);
  }

  /**
   * A grant another fleet node made, `seconds` of it left: the same door here, with this node's
   * commands and firewall, if this node's door allows all of it.
   */
  fleetGrant(note: GrantNote, seconds: number, wall: number): Effect[] {
    this.wall = wall;
    // The packet's digest is kept here too, whatever this door decides: a replay of it to this node
    // is refused by the local cache, even if the claim in Redis is gone.
    if (note.digest !== undefined && this.replay.keep(note.digest, `fleet node ${note.node}`, wall)) this.deps.persistReplay(this.replay.kept());
    const who = this.deps.display(note.ip);
    const decided = fleetDoor(this.config, note);
    if ('refusal' in decided) {
      const out: Effect[] = [];
      this.fleetLog.line(`fleet: grant from node ${note.node} for ${note.ip} refused: ${decided.refusal}`, (line) => out.push({ kind: 'log', line }));
      return out;
    }
    if (!this.isEnabled(this.config.doors.indexOf(decided.door))) return [];
    return fleetGrantEffects(note, decided.door, Math.max(1, Math.min(seconds, note.timeout)), who);
  }

  /** Another node used a one-time sequence: if it is this door's current one, move on (nothing opens). */
  fleetOneTimeUsed(note: OneTimeNote, wall: number): Effect[] {
    this.wall = wall;
    const index = this.config.doors.findIndex((d) => d.name === note.door && d.oneTime);
    const line = this.oneTimeLines.get(index);
    if (index < 0 || line === undefined || !this.matcher.isEnabled(index)) return [];
    const current = this.matcher.sequenceOf(index);
    const same = current.length === note.sequence.length && current.every((s, i) => s.protocol === note.sequence[i]!.protocol && s.port === note.sequence[i]!.port);
    if (!same) return [{ kind: 'debug', line: `fleet: ${note.door}: node ${note.node} used a sequence that is not current here` }];
    const door = this.config.doors[index]!;
    return [
      { kind: 'log', line: `${door.name}: one-time sequence used on fleet node ${note.node}` },
      { kind: 'rotate', doorIndex: index, door, line, used: current },
    ];
  }

  /** The doors as nftables must match them now (one-time doors move on, exhausted ones leave). */
  kernelDoors(): KernelDoor[] {
    const out: KernelDoor[] = [];
    this.config.doors.forEach((door, index) => {
      const sequence = this.matcher.sequenceOf(index);
      if (this.matcher.isEnabled(index) && sequence.length > 0) out.push({ index, version: this.versions[index]!, door, sequence });
    });
    return out;
  }

  /** Timeouts due at `at` (the shell's timer, at nextDeadline()). */
  tick(at: number, wall: number): Effect[] {
    this.wall = wall;
    const out: Effect[] = [];
    this.events(this.matcher.expire(at), out);
    this.events(this.kernelAttempts.expire(at), out);
    return out;
  }

  /** When tick() has something to report (monotonic ms), if anything is in progress. */
  nextDeadline(): number | undefined {
    const a = this.matcher.nextDeadline();
    const b = this.kernelAttempts.nextDeadline();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** False once a one-time door ran out of sequences (or its file could not be rewritten). */
  isEnabled(doorIndex: number): boolean {
    return this.matcher.isEnabled(doorIndex);
  }

  get localAddresses(): readonly string[] {
    return this.local;
  }

  setLocalAddresses(addrs: readonly string[]): Effect[] {
    this.local = addrs;
    this.localSet = new Set(addrs);
    this.matcher.setLocalAddresses(addrs);
    this.gate.setLocalAddresses(addrs);
    return [{ kind: 'debug', line: `local addresses changed: ${addrs.join(' ')}` }, { kind: 'filter' }];
  }

  /** The result of a 'rotate' effect: the door's next sequence, or the door disabled. */
  oneTimeRotated(doorIndex: number, r: RotateResult): Effect[] {
    const door = this.config.doors[doorIndex];
    if (!door) return [];
    const out: Effect[] = [];
    const log = (line: string) => out.push({ kind: 'log', line, stderr: true });
    this.versions[doorIndex]!++;
    this.kernelAttempts.dropDoor(doorIndex);
    if (r.kind === 'error') {
      log(r.message);
      log(logMsg.disableFailed(door.name));
      this.matcher.disable(doorIndex);
    } else {
      for (const s of r.skipped) log(s);
      if (r.kind === 'exhausted') {
        log(logMsg.noMoreSequences(door.name));
        this.matcher.disable(doorIndex);
        this.oneTimeLines.delete(doorIndex);
      } else {
        this.oneTimeLines.set(doorIndex, r.entry.line);
        this.matcher.setSequence(doorIndex, r.entry.steps);
      }
    }
    out.push({ kind: 'filter' });
    return out;
  }

  /** The capture filter for the doors as they are now (one-time doors move on). */
  filter(): string {
    const doors = this.config.doors
      .map((d, i) => ({ ...d, sequence: this.matcher.sequenceOf(i), enabled: this.matcher.isEnabled(i) }))
      .filter((d) => d.enabled && d.sequence.length > 0);
    // An SPA door is, for the filter, a one-step UDP sequence on its SPA port.
    const spa = new Set<string>();
    for (const d of this.config.doors) {
      if (!d.spa || spa.has(`${d.spa.port} ${d.target}`)) continue;
      spa.add(`${d.spa.port} ${d.target}`);
      doors.push({ ...d, sequence: [{ protocol: 'udp', port: d.spa.port }], tcpFlags: { set: 0, clear: 0 }, enabled: true });
    }
    return buildFilter({ doors, local: this.local, onlyIPv4: this.opts.onlyIPv4 });
  }

  private spa(p: Packet, wall: number, out: Effect[]): void {
    const handled = this.gate.handle({ src: p.src, dst: p.dst, family: p.family, dport: p.dport, payload: p.payload ?? '' }, wall);
    let verdict = handled.verdict;
    if (handled.kept && !this.deps.persistReplay(this.replay.kept()) && verdict.type === 'granted') {
      verdict = { type: 'refused', src: p.src, door: verdict.door, reason: 'replay cache not written (disk full?)' };
    }
    switch (verdict.type) {
      case 'ignored':
        if (this.debug) out.push({ kind: 'debug', line: `SPA: ${p.src}: ignored: ${verdict.why}` });
        break;
      case 'refused': {
        const refused = verdict;
        this.spaLog.line(() => logMsg.spaRefused(this.deps.display(p.src), refused.door?.name, refused.reason), (line) => out.push({ kind: 'log', line }));
        break;
      }
      case 'granted': {
        const who = this.deps.display(p.src);
        const { nat } = verdict;
        const granted: Effect[] = [];
        const ports = verdict.ports.map((s) => formatProtoPort(s)).join(',') + (nat ? ` -> ${natText(nat)}` : '');
        granted.push({ kind: 'log', line: logMsg.spaOpen(who, verdict.door.name, verdict.ip, ports, verdict.fields.username, verdict.timeout) });
        granted.push({ kind: 'grant', knocker: who, door: verdict.door, ip: verdict.ip, timeout: verdict.timeout, ports: verdict.ports, ...(nat ? { nat } : {}) });
        for (const s of verdict.ports) {
          granted.push({ kind: 'run', request: {
            door: verdict.door, ip: verdict.ip, family: verdict.family, knocker: who,
            spa: { protocol: s.protocol, port: s.port, timeout: verdict.timeout, ...(nat ? { nat: { address: nat.address, port: nat.port } } : {}) },
          } });
        }
        if (!this.opts.fleet) { out.push(...granted); break; }
        // The fleet decides a digest once, for every node, before anything opens.
        granted.push({ kind: 'share', grant: { kind: 'spa', door: verdict.door.name, ip: verdict.ip, family: verdict.family, timeout: verdict.timeout, ports: verdict.ports, ...(nat ? { nat } : {}), digest: verdict.digest } });
        out.push({
          kind: 'claim', claim: { type: 'replay', digest: verdict.digest, ttlMs: this.replay.windowMs }, granted,
          refused: [{ kind: 'log', line: logMsg.spaRefused(who, verdict.door.name, 'replay detected (accepted by another fleet node)') }],
        });
        break;
      }
    }
  }

  private events(events: readonly MatchEvent[], out: Effect[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'stage':
        case 'timeout':
          // Formatted (and the name looked up) only if the throttle lets the line through.
          this.knockLog.line(() => knockLine(e, this.deps.display(e.src))!, (line) => out.push({ kind: 'log', line }));
          break;
        case 'open': {
          const who = this.deps.display(e.src);
          const granted: Effect[] = [
            { kind: 'log', line: knockLine(e, who)! },
            { kind: 'run', request: { door: e.door, ip: e.src, family: e.family, knocker: who } },
            { kind: 'grant', knocker: who, door: e.door, ip: e.src, timeout: e.door.cmdTimeout },
          ];
          if (this.opts.fleet) granted.push({ kind: 'share', grant: { kind: 'knock', door: e.door.name, ip: e.src, family: e.family, timeout: Math.max(1, e.door.cmdTimeout) } });
          const line = this.oneTimeLines.get(e.doorIndex);
          const used = this.matcher.sequenceOf(e.doorIndex);
          if (e.door.oneTime && line !== undefined && this.opts.fleet) {
            // Used once across the fleet; the file moves on here either way (the sequence is spent).
            out.push({
              kind: 'claim', claim: { type: 'onetime', door: e.door.name, sequence: used }, granted,
              refused: [{ kind: 'log', line: `${who}: ${e.door.name}: one-time sequence already used on another fleet node` }],
            });
          } else out.push(...granted);
          if (e.door.oneTime && line !== undefined) out.push({ kind: 'rotate', doorIndex: e.doorIndex, door: e.door, line, used });
          break;
        }
        case 'reset':
          if (this.debug) out.push({ kind: 'debug', line: `removing failed knock attempt (${e.src})` });
          break;
        case 'flags-ignored':
          if (this.debug) out.push({ kind: 'debug', line: `packet does not match the tcpflags of ${e.door.name}, ignoring...` });
          break;
        case 'evicted':
          // One line per doubling, so a flood cannot flood the log too.
          if (this.evictionsLog.due(this.matcher.evictions)) {
            out.push({ kind: 'log', line: `attempt table full: ${this.matcher.evictions} oldest attempts evicted so far` });
          }
          break;
      }
    }
  }
}
