// Where knocks come from: NFLOG events of Sesame's own nftables table (kernel matching) or libpcap
// captures. The mode is chosen once, at start-up (Matching = auto|kernel|pcap, logged) and kept for
// the daemon's life. Kernel events carry the engine their table was compiled from (kernel-matching.ts):
// from a SIGHUP on, the old table's events are judged by no engine (its doors are revoked), and a
// stale table's never are.

import { DEFAULTS, type Config, type Matching } from '../config/types.js';
import type { Engine } from '../engine/engine.js';
import type { Packet } from '../matcher/types.js';
import type { KernelEvent } from '../ruleset/events.js';
import type { Logger } from '../log/logger.js';
import { interfacePresent } from '../capture/interfaces.js';
import { Captures } from './captures.js';
import { KernelMatching, kernelRefusal, type KernelMatchingOptions } from './kernel-matching.js';
import { matchTableName, nflogGroup } from './instance-lock.js';
import type { DaemonOptions } from './options.js';
import type { Firewalls } from '../firewall/contract.js';
import { StartError } from './start-error.js';
import type { Ban } from '../matcher/bans.js';
import { captureLosses, quietObserver, type Observer } from './observer.js';

/** A packet to match, or (kernel matching) an NFLOG event with its packet and the engine that judges it. */
export type Arrival = Packet & { readonly kernel?: { readonly engine: Engine; readonly event: KernelEvent } };

/** The mode asked for: `--matching` beats the config's `Matching`; `auto` by default. */
export function wantedMatching(args: DaemonOptions, config: Config): Matching {
  return args.matching ?? config.options.matching ?? 'auto';
}

export interface KnockInputOptions {
  readonly args: DaemonOptions;
  readonly interfaces: readonly string[];
  readonly logger: Logger;
  /** What kernel matching opens its table through. */
  readonly firewalls: Firewalls;
  /** Every arrival, in order. */
  readonly arrive: (a: Arrival) => void;
  /** Stage and reset events the kernel counted but did not send (its rate limit). */
  readonly unheard: (n: number) => void;
  /** A capture came back after its interface returned (addresses may have changed). */
  readonly reopened: () => void;
  /** Told of packets and events lost, and of kernel table repairs (metrics, events). */
  readonly observe?: Observer;
  /** Kernel matching's NFLOG group and watchdog timer, where a test hands in its own. */
  readonly kernel?: Pick<KernelMatchingOptions, 'nflog' | 'scheduler'>;
}

export class KnockInput {
  private kernel: KernelMatching | undefined;

  private constructor(private readonly captures: Captures) {}

  /**
   * Kernel matching where asked for (or, under `auto`, where nftables and NFLOG work), else libpcap.
   * Returns the engine to run: a pcap one when `auto` fell back. A missing interface fails as
   * knockd's capture does.
   */
  static async open(engine: Engine, opts: KnockInputOptions): Promise<{ input: KnockInput; engine: Engine }> {
    const observe = opts.observe ?? quietObserver;
    const input = new KnockInput(new Captures(opts.interfaces, opts.logger, engine.config.options.captureBuffer ?? DEFAULTS.captureBuffer,
      (counts) => captureLosses(observe, counts)));
    const want = wantedMatching(opts.args, engine.config);
    if (want !== 'pcap') {
      const missing = opts.interfaces.find((i) => !interfacePresent(i));
      if (missing) throw new StartError(`could not open ${missing}: No such device exists`);
      const table = matchTableName(opts.args.instance);
      const group = nflogGroup(opts.args.instance);
      try {
        input.kernel = await KernelMatching.start(engine, {
          firewalls: opts.firewalls, table, group, interfaces: opts.interfaces, onlyIPv4: opts.args.onlyIPv4,
          log: (m) => opts.logger.log(m),
          unheard: opts.unheard,
          event: (engine, event, p) => opts.arrive({ ...p, kernel: { engine, event } }),
          lost: (n) => observe.captureDropped('nflog', n),
          repaired: (line) => observe.event({ type: 'firewall-repaired', what: 'kernel-table', detail: line }),
          ...opts.kernel,
        });
        // -v says which; the log stays knockd's (fail2ban and logwatch read it) unless kernel matching fails.
        opts.logger.verbose(`matching knocks in the kernel: nftables table inet ${table}, NFLOG group ${group}`);
        return { input, engine };
      } catch (err) {
        const why = (err as Error).message.split('\n')[0];
        if (want === 'kernel') throw new StartError(`kernel matching failed: ${why}`);
        opts.logger.log(`kernel matching unavailable (${why}); matching knocks with libpcap`);
        engine = engine.next(engine.config, Date.now(), 'pcap');
      }
    }
    await input.captures.open(engine.filter(), (ps) => { for (const p of ps) opts.arrive(p); }, opts.reopened);
    opts.logger.verbose(`matching knocks with libpcap${want === 'pcap' ? ' (Matching = pcap)' : ''}`);
    return { input, engine };
  }

  /** Why the running mode cannot serve `config` (it is then not taken), or undefined. */
  refusal(config: Config): string | undefined {
    const why = this.kernel ? kernelRefusal(config) : undefined;
    return why && `kernel matching: ${why}; keeping the running configuration (start with Matching = pcap for it)`;
  }

  /** Bans in force (a new one was made): the kernel stops tracking them (the engine ignores them anyway). */
  ban(bans: readonly Ban[]): void {
    if (this.kernel) void this.kernel.ban(bans);
  }

  /** The engine's doors or addresses changed in place (one-time rotation, address watch). */
  refresh(engine: Engine): void {
    if (this.kernel) void this.kernel.refresh(engine);
    else this.captures.setFilter(engine.filter());
  }

  /** SIGHUP: `next` replaces the running engine (a new table in kernel mode; a new filter with libpcap). */
  reload(next: Engine): void {
    if (!this.kernel) { this.refresh(next); return; }
    void this.kernel.reload(next);
  }

  /** Stops listening; the kernel table goes with it. `quick` bounds the wait (after a crash). */
  async stop(quick = false): Promise<void> {
    this.captures.stop();
    const removed = this.kernel?.stop();
    await (quick ? Promise.race([removed, new Promise((r) => setTimeout(r, 2000).unref())]) : removed);
  }
}
