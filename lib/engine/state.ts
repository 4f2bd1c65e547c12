// What an engine holds between inputs: the matcher, the SPA gate and its replay cache, the log
// throttles, the one-time lines, the kernel attempts, and the local addresses. The handlers
// (on-*.ts) read and change it; nothing outside lib/engine sees it.

import { DEFAULTS, type Config } from '../config/types.js';
import { DoublingLog, LogRateLimit } from '../log/rate-limit.js';
import { KernelAttempts } from '../matcher/kernel-attempts.js';
import { Matcher } from '../matcher/matcher.js';
import { SharedKnocks } from '../matcher/shared-knocks.js';
import { Bans } from '../matcher/bans.js';
import { SpaGate } from '../matcher/spa-gate.js';
import { HttpAssembler } from '../matcher/http-assembler.js';
import type { SpaGpgWork } from '../matcher/spa-verdicts.js';
import { ReplayCache, type ReplayEntry } from '../spa/replay.js';

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
  /** Bans kept by an earlier run (state file), and the wall time now. */
  readonly bans?: { readonly entries: readonly unknown[]; readonly now: number };
  /** The failure records and bans of the engine this one replaces (a reload), carried over whole. */
  readonly banTable?: Bans;
  /** Emit the per-packet `debug` effects (-D); off, a flood costs no line per packet. Default on. */
  readonly debug?: boolean;
  /** Emit 'event' effects (grants, stages, refusals, bans) for metrics and event sinks. Default off. */
  readonly events?: boolean;
}

/** Digests are held twice the widest age window: a packet may be stamped up to SPA_Max_Age ahead. */
function replayCacheFor(config: Config): ReplayCache {
  const maxAge = Math.max(DEFAULTS.spaMaxAge, ...config.doors.map((d) => d.spa?.maxAge ?? 0));
  return new ReplayCache({ windowMs: 2 * maxAge * 1000 });
}

export class EngineState {
  readonly matcher: Matcher;
  readonly gate: SpaGate;
  /** SPA over HTTP, sniffed: requests in pieces joined by flow (undefined without SPA_HTTP_Port). */
  readonly http: HttpAssembler | undefined;
  /** GnuPG messages handed to the shell's gpg ('gpg' effect), by id, until a 'gpg-done' input. */
  readonly gpgPending = new Map<number, { work: SpaGpgWork; via: 'udp' | 'http' | 'tcp' }>();
  gpgNext = 1;
  readonly replay: ReplayCache;
  /** Sources banned after too many failures (Max_Failures), and the failures counted. */
  readonly bans: Bans;
  /** Wall clock of the latest input (ms): the log throttles run on it. */
  wall = 0;
  readonly spaLog = new LogRateLimit(20, 50, () => this.wall);
  readonly fleetLog = new LogRateLimit(20, 50, () => this.wall, (n) => `${n} fleet notes not logged (rate limit)`);
  // Stage and timeout lines: far above any real knocking, far below a flood's (a line per
  // spoofed packet was ~90 GB of log a day at top rate).
  readonly knockLog = new LogRateLimit(100, 500, () => this.wall, (n) => `${n} knock events not logged (rate limit)`);
  readonly evictionsLog = new DoublingLog();
  /** Bans the full table could not take: said once per doubling. */
  readonly banLostLog = new DoublingLog();
  readonly banLog = new LogRateLimit(20, 50, () => this.wall, (n) => `${n} ban lines not logged (rate limit)`);
  /** One-time doors: the file line their current sequence came from. */
  readonly oneTimeLines = new Map<number, number>();
  local: readonly string[];
  localSet: ReadonlySet<string>;
  /** Fleet_Shared_Knocks doors: this node's recent hits on their ports. */
  readonly shared: SharedKnocks | undefined;
  /** Kernel matching: attempts heard of (for timeout lines), and each door's ruleset version. */
  readonly kernelAttempts: KernelAttempts;
  readonly versions: number[];
  /** Door index by name (the first door of a name, as findIndex would): fleet notes name doors. */
  readonly doorIndex = new Map<string, number>();
  /** Whether per-packet `debug` effects are built (EngineOptions.debug, default on). */
  readonly debug: boolean;

  constructor(readonly config: Config, readonly opts: EngineOptions, readonly deps: EngineDeps) {
    this.local = opts.localAddresses;
    this.localSet = new Set(this.local);
    this.shared = opts.fleet && config.doors.some((d) => d.sharedKnocks !== undefined) ? new SharedKnocks(config.doors) : undefined;
    this.matcher = new Matcher(config.doors, { localAddresses: this.local, maxAttempts: opts.maxAttempts });
    this.replay = replayCacheFor(config);
    if (opts.replay) this.replay.load(opts.replay.entries, opts.replay.now);
    this.bans = opts.banTable ?? new Bans();
    if (opts.bans) this.bans.load(opts.bans.entries, opts.bans.now);
    this.gate = new SpaGate(config.doors, this.replay, this.local, config.options.spaTransport);
    this.http = config.options.spaTransport?.httpPort !== undefined ? new HttpAssembler() : undefined;
    config.doors.forEach((d, i) => { if (d.oneTime) this.oneTimeLines.set(i, d.oneTime.line); });
    this.kernelAttempts = new KernelAttempts(config.doors, opts.maxAttempts);
    this.versions = config.doors.map(() => 0);
    config.doors.forEach((d, i) => { if (!this.doorIndex.has(d.name)) this.doorIndex.set(d.name, i); });
    this.debug = opts.debug !== false;
  }

  get matching(): 'pcap' | 'kernel' {
    return this.opts.matching ?? 'pcap';
  }

  /** Whether a packet concerns this engine at all (-4 drops IPv6). */
  accepts(family: 4 | 6): boolean {
    return !(this.opts.onlyIPv4 && family !== 4);
  }
}
