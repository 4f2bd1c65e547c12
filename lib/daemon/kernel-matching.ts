// Kernel matching, the shell's part: installs the compiled ruleset (lib/ruleset) in Sesame's own
// table, reads its NFLOG group and hands each event to the engine of the ruleset that sent it.
// One-time rotations and address changes update the table in place (other doors' attempts live
// on); SIGHUP replaces it whole, as knockd forgets attempts on SIGHUP. A watchdog puts the table
// back when an admin's `nft flush ruleset` removed it, as the grant table's does.

import type { Engine } from '../engine/engine.js';
import type { Config } from '../config/types.js';
import type { NftBackend } from '../firewall/types.js';
import type { Firewalls } from '../firewall/contract.js';
import { openNflog, type NflogSource, type OpenNflog } from '../capture/nflog.js';
import type { NflogFrame } from '../capture/nflog-decode.js';
import { isPacket } from '../capture/decode.js';
import {
  EVENT_COUNTER, UNRECORDED_COUNTER, addressScript, banScript, installScript, removeScript, updateScript,
} from '../ruleset/compile.js';
import { parseEventPrefix, type KernelEvent } from '../ruleset/events.js';
import type { BanElement, RulesetSpec } from '../ruleset/spec.js';
import type { Ban } from '../matcher/bans.js';
import type { Packet } from '../matcher/types.js';
import { randomInt } from 'node:crypto';
import { DoublingLog } from '../log/rate-limit.js';
import { REMOVED, TableWatchdog, type WatchScheduler } from '../firewall/table-watchdog.js';
import { ERROR_CODES, SesameError } from '../errors/errors.js';

/** Most sources one stage set's first tier holds (element timeout: the door's Seq_Timeout). */
export const KERNEL_SET_SIZE = 262_144;
/**
 * Overflow tiers of every stage set, taken when the ones before are full (a flood of spoofed
 * sources): an attempt then lasts 5 s, then 1 s, but is recorded up to the tiers' rates, each its
 * size ÷ (timeout + the kernel's 0.6-0.8 s of garbage-collection lag): ~650,000 new sources a
 * second in all (bench:flood --wide: 8/8 at the generator's maximum; docs/kernel-matching.md "A flood from millions
 * of sources"). Kernel memory: ~80 B a source (IPv4) or ~110 B (IPv6); all tiers of one set full:
 * ~125 MB (IPv4) / ~175 MB (IPv6) at most. 256 doors load in 1.5 s (0.45 s without tiers).
 */
export const KERNEL_OVERFLOW = [{ size: 262_144, timeoutMs: 5_000 }, { size: 1_048_576, timeoutMs: 1_000 }] as const;
/**
 * Stage and reset events per second (and burst) that reach the daemon (a quarter of what the log
 * passes: past the burst a flood costs it ~0.5 s of CPU per 20 s, bench:flood); the rest are only
 * counted.
 */
const EVENT_RATE = 25;
const EVENT_BURST = 500;
/**
 * SPA datagrams per netlink message under a junk flood, where the group flushes within 10 ms
 * (bench:flood --spa: 50k pkt/s took ~40 % less CPU than one message each).
 */
const SPA_QUEUE = 64;
/** A failing install is retried less often while it fails, at most this far apart (ms). */
const MAX_RETRY_MS = 60_000;
/**
 * Most knock doors compiled into the kernel: nft's load time grows faster than linearly with the
 * sets and chains (500 doors: 1.5 s, 1,000: 6.7 s), and every visible packet walks the doors'
 * rules. Larger configs match with libpcap under `auto`.
 */
export const KERNEL_MAX_DOORS = 256;

/** Why a config cannot be matched in the kernel, or undefined. */
export function kernelRefusal(config: Config): string | undefined {
  const n = config.doors.filter((d) => d.sequence.length > 0).length;
  if (n > KERNEL_MAX_DOORS) return `${n} knock doors, more than the ${KERNEL_MAX_DOORS} kernel matching compiles`;
  // Knocks shared across a fleet are pieced together from each node's own hits: every one must reach the daemon.
  const shared = config.doors.find((d) => d.sharedKnocks !== undefined && d.sequence.length > 0);
  if (shared) return `door ${shared.name} has Fleet_Shared_Knocks, which needs every knock in the daemon (libpcap)`;
  // A code changes every 30 s and is judged when its last knock lands: the daemon reads the knocks.
  const totp = config.doors.find((d) => d.totp);
  return totp && `door ${totp.name} is a TOTP door, whose code knocks are matched in the daemon (libpcap)`;
}

/** Bans as the kernel holds them: what is left of each. */
function banElements(bans: readonly Ban[], now: number): BanElement[] {
  return bans.filter((b) => b.until > now).map((b) => ({ src: b.src, timeoutMs: b.until - now }));
}

export interface KernelMatchingOptions {
  /** Opens the backend that runs the ruleset's scripts, and reads the table back (nftFirewalls). */
  readonly firewalls: Firewalls;
  readonly table: string;
  readonly group: number;
  readonly interfaces: readonly string[];
  readonly onlyIPv4: boolean;
  readonly log: (line: string) => void;
  /** Stage and reset events the kernel counted but did not send (its rate limit). */
  readonly unheard: (n: number) => void;
  /** An event with its packet, and the engine that judges it: its table's (knocks), the running config's (SPA datagrams). */
  readonly event: (engine: Engine, e: KernelEvent, p: Packet) => void;
  /** Opens the NFLOG group (an NflogReader; a test's frames). */
  readonly nflog?: OpenNflog;
  /** The watchdog's timer (a test's, or the process's). */
  readonly scheduler?: WatchScheduler;
  /** Told when the watchdog replaced the table, with the log line. */
  readonly repaired?: (line: string) => void;
  /** Told of NFLOG events lost. */
  readonly lost?: (n: number) => void;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

export class KernelMatching {
  private spec: RulesetSpec | undefined;
  private reader: NflogSource | undefined;
  /** Starts anywhere: a stale table of an earlier run (a saved ruleset reloaded) never shares a generation with this one's. */
  private generation = randomInt(1, 2 ** 29);
  /** The table in the kernel and the engine it was compiled from; undefined while none is (a failed install). */
  private current: { readonly generation: number; readonly engine: Engine } | undefined;
  /** The engine the table must be compiled from (the running config's); installed until it is. */
  private wanted: Engine;
  private queue: Promise<void> = Promise.resolve();
  private readonly watchdog: TableWatchdog;
  /** What the running check read: the engine it installs, the event counter (undefined: no table). */
  private checked: { engine: Engine; events: number | undefined } | undefined;
  private readonly lostLog = new DoublingLog();
  private unbanned = 0;
  private readonly unbannedLog = new DoublingLog();
  /** First knocks unrecorded (every tier full): in all, as counted by the current table, and last logged. */
  private unrecorded = 0;
  private unrecordedTable = 0;
  private readonly unrecordedLog = new DoublingLog();
  private lost = 0;
  /** Stage and reset events heard from the current table, and kernel-suppressed ones reported. */
  private heard = 0;
  private unheardReported = 0;

  private constructor(private readonly backend: NftBackend, private readonly opts: KernelMatchingOptions, engine: Engine) {
    this.wanted = engine;
    const table = `table inet ${opts.table}`;
    this.watchdog = new TableWatchdog({
      inspect: opts.firewalls.inspector(opts.table),
      serial: (fn) => this.serial(fn),
      log: opts.log,
      before: () => this.readEvents(),
      after: () => (this.current?.engine !== this.checked!.engine ? 'is not the running configuration\'s (its install failed)' : undefined),
      healthy: () => this.counted(),
      replace: async (why) => {
        await this.install(this.checked!.engine);
        const line = `kernel matching: ${table} ${why}; replaced it (knocks in progress were lost)`;
        opts.log(line);
        opts.repaired?.(line);
      },
      failing: (err) => `kernel matching: cannot restore ${table}: ${firstLine(err)}; ` +
        'retrying, less often while it fails (at most every minute)',
      again: `kernel matching: ${table} is checked and restored again`,
    }, { readFailures: 1, maxBackoffMs: MAX_RETRY_MS, againAfterReplace: false }, opts.scheduler);
  }

  /** Installs the table for `engine` and opens the NFLOG group; throws what failed. */
  static async start(engine: Engine, opts: KernelMatchingOptions): Promise<KernelMatching> {
    const refusal = kernelRefusal(engine.config);
    if (refusal) throw new SesameError(refusal, ERROR_CODES.start);
    const backend = await opts.firewalls.backend();
    const km = new KernelMatching(backend, opts, engine);
    // Reader first: no event of the new table can be missed.
    km.reader = (opts.nflog ?? openNflog)(opts.group, { frame: (f) => km.frame(f), lost: (n, where) => km.countLost(n, where) });
    try {
      await km.install(engine);
    } catch (err) {
      km.reader.close();
      throw err;
    }
    km.watchdog.start();
    return km;
  }

  private specFor(engine: Engine, generation: number): RulesetSpec {
    return {
      table: this.opts.table,
      group: this.opts.group,
      generation,
      interfaces: this.opts.interfaces,
      families: this.opts.onlyIPv4 ? [4] : [4, 6],
      local: engine.localAddresses,
      doors: engine.kernelDoors(),
      spaPorts: [...new Set(engine.config.doors.flatMap((d) => (d.spa ? [d.spa.port] : [])))],
      spaQueue: this.reader?.batching ? SPA_QUEUE : 1,
      ...(engine.config.doors.some((d) => d.bans) ? { bans: banElements(engine.bans(Date.now()), Date.now()) } : {}),
      ...(engine.config.options.spaTransport?.httpPort !== undefined ? { spaHttpPort: engine.config.options.spaTransport.httpPort } : {}),
      setSize: KERNEL_SET_SIZE,
      overflow: KERNEL_OVERFLOW,
      eventRate: EVENT_RATE,
      eventBurst: EVENT_BURST,
    };
  }

  /** The whole table for `engine`, replacing the previous one (start-up, SIGHUP, restore). */
  private async install(engine: Engine): Promise<void> {
    const spec = this.specFor(engine, this.generation + 1);
    // The old table's events are judged by no engine from here on: if the install fails, knocks
    // wait for the retry (fail closed); once it is in, only its own events count.
    this.current = undefined;
    await this.backend.run(installScript(spec));
    this.generation = spec.generation;
    // A table of an engine replaced meanwhile (another SIGHUP) judges nothing: the next install follows.
    this.current = engine === this.wanted ? { generation: spec.generation, engine } : undefined;
    this.spec = spec;
    this.watchdog.takeBaseline();
    this.heard = 0;
    this.unheardReported = 0;
    this.unrecordedTable = 0;
  }

  /** Changes are applied one at a time, in order. */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.opts.log(`kernel matching: ruleset update failed: ${firstLine(err)}`));
    return this.queue;
  }

  /** Bans made since the install (Max_Failures): the kernel stops tracking those sources. */
  ban(bans: readonly Ban[]): Promise<void> {
    return this.serial(async () => {
      if (!this.spec?.bans || !this.current) return; // the next install carries them
      const script = banScript(this.spec, banElements(bans, Date.now()));
      if (script === '') return;
      try {
        await this.backend.run(script);
      } catch (err) {
        // A full set (a flood of bans): the engine still ignores those sources' events.
        this.unbanned += bans.length;
        if (this.unbannedLog.due(this.unbanned)) {
          this.opts.log(`kernel matching: ${this.unbanned} bans could not be put in the kernel so far (latest: ${firstLine(err)}); ` +
            'their knocks are still ignored');
        }
      }
    });
  }

  /** SIGHUP: a new engine, a new table (attempts in progress end, as in knockd). */
  reload(engine: Engine): Promise<void> {
    // From the signal on, the old table's events count for nothing: its doors are revoked.
    this.wanted = engine;
    this.current = undefined;
    return this.serial(() => this.install(engine));
  }

  /** Door sequences or local addresses changed (one-time rotation, address watch). */
  refresh(engine: Engine): Promise<void> {
    return this.serial(async () => {
      const prev = this.spec;
      const next = this.specFor(engine, this.generation);
      if (!prev || this.current?.engine !== engine) return this.install(engine);
      await this.backend.run(updateScript(prev, next) + addressScript(next));
      this.spec = next;
      this.watchdog.takeBaseline();
    });
  }

  /**
   * Every second (table-watchdog.ts): the table must be what Sesame installed. Missing (nft flush
   * ruleset), stale (a saved ruleset of an earlier config reloaded) or altered, it is replaced whole
   * with a new generation: events of the old one are judged by no engine.
   */
  check(): Promise<void> {
    return this.watchdog.check();
  }

  /** A check's first read: the event counter, which also says whether the table is there. */
  private async readEvents(): Promise<string | undefined> {
    const engine = this.wanted;
    this.reader?.checkDrops();
    const events = await this.opts.firewalls.counter(this.opts.table, EVENT_COUNTER, this.backend);
    this.checked = { engine, events };
    return events === undefined ? REMOVED : undefined;
  }

  /** The table is right: what the kernel counted against what arrived. */
  private async counted(): Promise<void> {
    this.countUnheard(this.checked!.events!);
    this.countUnrecorded(await this.opts.firewalls.counter(this.opts.table, UNRECORDED_COUNTER, this.backend));
  }

  /**
   * First knocks no overflow tier had room for (a flood of new sources past what the tiers take):
   * logged at most once per doubling of the total. `counted` is the current table's counter.
   */
  private countUnrecorded(counted: number | undefined): void {
    if (counted === undefined || counted <= this.unrecordedTable) return;
    this.unrecorded += counted - this.unrecordedTable;
    this.unrecordedTable = counted;
    if (this.unrecordedLog.due(this.unrecorded)) {
      this.opts.log(`kernel matching: ${this.unrecorded} first knocks could not be recorded so far: every overflow tier was full ` +
        '(more new sources a second than the tiers take; see knockd(1), kernel matching)');
    }
  }

  /** The kernel's count of stage and reset events against what arrived: the difference was limited. */
  private countUnheard(counted: number): void {
    const unheard = counted - this.heard;
    if (unheard > this.unheardReported) {
      this.opts.unheard(unheard - this.unheardReported);
      this.unheardReported = unheard;
    }
  }

  /** Parsed prefixes: a table has few distinct ones, and a flood repeats them (SPA junk: one). */
  private readonly prefixes = new Map<string, KernelEvent | undefined>();

  private parsed(prefix: string): KernelEvent | undefined {
    if (this.prefixes.has(prefix)) return this.prefixes.get(prefix);
    const e = parseEventPrefix(prefix);
    if (this.prefixes.size >= 4096) this.prefixes.clear(); // bounded: another table's prefixes
    this.prefixes.set(prefix, e);
    return e;
  }

  /**
   * An event goes to the engine its table was compiled from, and only while that table is the one
   * installed: a replaced or stale table's knocks open nothing. SPA datagrams are only packets to
   * verify: the running configuration judges them, whichever table passed them on.
   */
  private frame(f: NflogFrame): void {
    const e = this.parsed(f.prefix);
    if (!e || !isPacket(f.packet)) return;
    if (e.kind === 'spa') { this.opts.event(this.wanted, e, f.packet); return; }
    const current = this.current;
    if (!current || e.generation !== current.generation) return;
    if (e.kind === 'stage' || e.kind === 'reset') this.heard++;
    this.opts.event(current.engine, e, f.packet);
  }

  /** Events lost (the daemon behind, or the kernel's buffer full); logged at most once per doubling. */
  private countLost(n: number, where: 'daemon' | 'kernel'): void {
    this.lost += n;
    this.opts.lost?.(n);
    if (this.lostLog.due(this.lost)) {
      const latest = where === 'kernel' ? 'receive buffer full' : 'daemon behind';
      this.opts.log(`kernel matching: ${this.lost} NFLOG events lost so far (latest: ${latest})`);
    }
  }

  /** Shutdown: stop reading and remove the table (nothing is matched while no daemon runs). */
  async stop(): Promise<void> {
    this.watchdog.stop();
    this.reader?.close();
    this.reader = undefined;
    await this.queue;
    try { await this.backend.run(removeScript(this.opts.table)); } catch { /* already gone */ }
  }
}
