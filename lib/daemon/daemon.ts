// The shell around the engine (lib/engine): it owns the processes, timers, files and sockets,
// feeds packets and clock ticks to the engine and carries its effects out, in order. Start, reload
// and stop order live here; what the daemon decides lives in the engine.

import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config/parser.js';
import { DEFAULTS, type Config } from '../config/types.js';
import type { Packet } from '../matcher/types.js';
import { Engine, type Effect } from '../engine/engine.js';
import { CommandRunner } from '../actions/runner.js';
import { Logger } from '../log/logger.js';
import { logMsg } from '../log/messages.js';
import { localAddresses, watchAddresses, type AddressWatch } from '../capture/addresses.js';
import { Captures } from './captures.js';
import { DeadlineTimer } from './deadline-timer.js';
import { carryOut, type Shell } from './carry-out.js';
import { configForReload } from './reload.js';
import { ReplayStore, StateStore } from './state.js';
import { DoorFirewall } from './door-firewall.js';
import { lockInstance, tableName } from './instance-lock.js';
import { Resolver } from './resolver.js';
import { LookupQueue } from './lookup-queue.js';
import type { DaemonOptions } from './options.js';
import { KernelMatching, kernelRefusal } from './kernel-matching.js';
import { matchTableName, nflogGroup } from './instance-lock.js';
import { interfacePresent } from '../capture/interfaces.js';
import type { KernelEvent } from '../ruleset/events.js';
import type { Matching } from '../config/types.js';
import { ERROR_CODES, SesameError, isSesameError, type ErrorCode } from '../errors/errors.js';

/** A start-up failure: one line for the user, exit status 1. */
export class StartError extends SesameError {
  constructor(message: string, code: ErrorCode = ERROR_CODES.start) {
    super(message, code);
    this.name = 'StartError';
  }
}

/** A packet to match, or (kernel matching) an NFLOG event of ruleset `generation` with its packet. */
type Arrival = Packet & { readonly kernel?: { readonly generation: number; readonly event: KernelEvent } };

export class Daemon {
  private engine: Engine;
  /** Kernel matching: the engine of the ruleset SIGHUP replaced, for its events still queued. */
  private previous: { generation: number; engine: Engine } | undefined;
  private kernel: KernelMatching | undefined;
  private readonly replayStore: ReplayStore;
  private firewall: DoorFirewall | undefined;
  private readonly runner: CommandRunner;
  private readonly logger: Logger;
  private readonly state: StateStore;
  private readonly resolver: Resolver | undefined;
  private readonly captures: Captures;
  private readonly shell: Shell;
  private readonly interfaces: readonly string[];
  private readonly deadline = new DeadlineTimer(
    () => (this.closing ? undefined : this.engine.nextDeadline()),
    (now) => this.apply(this.engine.tick(now, Date.now())),
  );
  private addressWatch: AddressWatch | undefined;
  private readonly lookups: LookupQueue<Arrival> | undefined;
  private closing = false;
  private stopping: Promise<void> | undefined;
  /** Releases the instance's locks (state directory, table). */
  private unlock: () => void = () => {};

  private constructor(private readonly args: DaemonOptions, config: Config) {
    this.interfaces = args.interfaces ?? config.options.interfaces ?? [DEFAULTS.interface];
    this.logger = new Logger({
      logFile: config.options.logFile ?? args.logFile,
      useSyslog: config.options.useSyslog,
      verbose: args.verbose,
      debug: args.debug,
    });
    this.state = new StateStore(args.stateDir, (m) => this.logger.log(m, { stderr: true }));
    this.runner = new CommandRunner({ log: this.logger, onPendingChange: (p) => this.state.save(p) });
    this.resolver = args.lookup ? new Resolver() : undefined;
    this.lookups = this.resolver ? new LookupQueue(this.resolver, (p, at) => { if (!this.closing) this.handle(p, at); }) : undefined;
    this.captures = new Captures(this.interfaces, this.logger);
    this.shell = {
      logger: this.logger,
      runner: this.runner,
      grant: (e) => void this.firewall?.grant(e.knocker, e.door, e.ip, e.timeout, e.ports),
      rotated: (i, r) => this.engine.oneTimeRotated(i, r),
      refreshFilter: () => this.refreshFilter(),
    };
    this.replayStore = new ReplayStore(args.stateDir, (m) => this.logger.log(m, { stderr: true }));
    this.engine = new Engine(config, {
      localAddresses: localAddresses(this.interfaces, args.onlyIPv4),
      maxAttempts: args.maxAttempts,
      onlyIPv4: args.onlyIPv4,
      matching: Daemon.matchingOf(args, config) === 'pcap' ? 'pcap' : 'kernel',
      replay: { entries: this.replayStore.load(), now: Date.now() },
    }, {
      display: (ip) => (this.resolver ? this.resolver.display(ip) : ip),
      persistReplay: (entries) => this.replayStore.save(entries),
    });
  }

  private static matchingOf(args: DaemonOptions, config: Config): Matching {
    return args.matching ?? config.options.matching ?? 'auto';
  }

  private get config(): Config {
    return this.engine.config;
  }

  /** Parses the config and opens the captures; throws ConfigError or StartError. */
  static async start(args: DaemonOptions): Promise<Daemon> {
    const config = loadConfig(args.config);
    const d = new Daemon(args, config);
    const table = tableName(args.instance);
    try {
      d.unlock = lockInstance(args.stateDir, table,
        args.instance === undefined ? 'give this one its own --instance NAME' : 'stop it, or choose another --instance');
    } catch (err) {
      throw new StartError((err as Error).message, isSesameError(err) ? err.code : ERROR_CODES.start);
    }
    for (const w of config.warnings) d.logger.log(`warning: ${w}`, { stderr: true });
    // The guard goes up before anything listens, so no knock can be granted into a missing table.
    try {
      d.firewall = await DoorFirewall.start(config, (m) => d.logger.log(m), table);
      await d.startMatching(config);
    } catch (err) {
      d.unlock();
      // The firewall's failure is a ConfigError naming the Open line; a capture's is a start-up error.
      throw isSesameError(err) ? err : new StartError((err as Error).message);
    }
    for (const a of d.engine.localAddresses) d.logger.debug(`local IP: ${a}`);
    // Stops journalled by a previous run that was killed: overdue ones run now.
    d.runner.restore(d.state.load());
    d.addressWatch = watchAddresses(d.interfaces, args.onlyIPv4, (addrs) => d.addressesChanged(addrs));
    const names = d.interfaces.join(',');
    d.logger.verbose(`listening on ${names}...`);
    d.logger.log(logMsg.startingUp(names));
    return d;
  }


  /**
   * Kernel matching where asked for (or, under `auto`, where nftables and NFLOG work), else
   * libpcap captures; the choice is logged. A missing interface fails as knockd's capture does.
   */
  private async startMatching(config: Config): Promise<void> {
    const want = Daemon.matchingOf(this.args, config);
    if (want !== 'pcap') {
      const missing = this.interfaces.find((i) => !interfacePresent(i));
      if (missing) throw new StartError(`could not open ${missing}: No such device exists`);
      const table = matchTableName(this.args.instance);
      const group = nflogGroup(this.args.instance);
      try {
        this.kernel = await KernelMatching.start(this.engine, {
          table, group, interfaces: this.interfaces, onlyIPv4: this.args.onlyIPv4,
          log: (m) => this.logger.log(m),
          unheard: (n) => this.engine.unheardKnockEvents(n),
          event: (generation, event, p) => this.onKernelEvent(generation, event, p),
        });
        // -v says which; the log stays knockd's (fail2ban and logwatch read it) unless kernel matching fails.
        this.logger.verbose(`matching knocks in the kernel: nftables table inet ${table}, NFLOG group ${group}`);
        return;
      } catch (err) {
        const why = (err as Error).message.split('\n')[0];
        if (want === 'kernel') throw new StartError(`kernel matching failed: ${why}`);
        this.logger.log(`kernel matching unavailable (${why}); matching knocks with libpcap`);
        this.engine = this.engine.next(config, Date.now(), 'pcap');
      }
    }
    await this.captures.open(this.engine.filter(), (ps) => this.onPackets(ps), () => this.addressWatch?.check());
    this.logger.verbose(`matching knocks with libpcap${want === 'pcap' ? ' (Matching = pcap)' : ''}`);
  }

  private onKernelEvent(generation: number, event: KernelEvent, p: Packet): void {
    if (this.closing || !this.engine.accepts(p)) return;
    const at = performance.now();
    if (this.lookups) this.lookups.submit({ ...p, kernel: { generation, event } }, at);
    else this.kernelEvent(generation, event, p, at);
  }

  /** One kernel event, for the engine of the ruleset that sent it (the previous one after a SIGHUP). */
  private kernelEvent(generation: number, event: KernelEvent, p: Packet, at: number): void {
    const engine = generation === this.kernel?.currentGeneration ? this.engine
      : generation === this.previous?.generation ? this.previous.engine : undefined;
    if (engine) this.apply(engine.kernelEvent(event, p, at, Date.now()));
    this.deadline.arm();
  }

  private refreshFilter(): void {
    if (this.kernel) void this.kernel.refresh(this.engine);
    else this.captures.setFilter(this.engine.filter());
  }

  private addressesChanged(addrs: string[]): void {
    this.logger.verbose(`local addresses changed: ${addrs.join(' ')}`);
    this.apply(this.engine.setLocalAddresses(addrs));
  }

  private onPackets(packets: Packet[]): void {
    if (this.closing) return;
    const at = performance.now();
    for (const p of packets) {
      if (!this.engine.accepts(p)) continue; // no name lookup for what the engine drops (-4)
      if (this.lookups) this.lookups.submit(p, at); // -l: waits only for its own name
      else this.handle(p, at);
    }
  }

  /** One packet or kernel event, matched at its arrival time `at` (monotonic ms). */
  private handle(a: Arrival, at: number): void {
    if (a.kernel) { this.kernelEvent(a.kernel.generation, a.kernel.event, a, at); return; }
    this.apply(this.engine.packet(a, at, Date.now()));
    this.deadline.arm();
  }

  private apply(effects: readonly Effect[]): void {
    carryOut(effects, this.shell);
  }

  /** SIGHUP: re-read the config; a broken file is logged and the running config stays. */
  reload(): void {
    this.logger.log(logMsg.rereading(this.args.config));
    const config = configForReload(this.args.config, this.firewall !== undefined, this.logger);
    if (!config) return;
    void this.firewall?.reload(config).catch((err: unknown) => this.logger.log(`firewall: reload failed: ${(err as Error).message}`, { stderr: true }));
    const refusal = this.kernel ? kernelRefusal(config) : undefined;
    if (refusal) {
      // The running mode stays for the daemon's life; a config it cannot serve is not taken.
      this.logger.log(`kernel matching: ${refusal}; keeping the running configuration (start with Matching = pcap for it)`, { stderr: true });
      return;
    }
    const before = { generation: this.kernel?.currentGeneration ?? 0, engine: this.engine };
    this.engine = this.engine.next(config, Date.now()); // what carries over: Engine.next
    this.logger.verbose(`re-opening log file`);
    this.logger.openFile();
    if (this.kernel) {
      this.previous = before;
      void this.kernel.reload(this.engine);
    } else {
      this.refreshFilter();
    }
    this.deadline.arm();
  }

  /** SIGTERM/SIGINT: every pending stop command runs before exit; nothing stays open. */
  shutdown(): Promise<void> {
    // A second signal waits for the same shutdown: it must not exit before the stop commands ran.
    this.stopping ??= this.shutdownOnce();
    return this.stopping;
  }

  private async shutdownOnce(): Promise<void> {
    this.closing = true;
    this.deadline.stop();
    this.addressWatch?.stop();
    this.captures.stop();
    await this.kernel?.stop();
    this.firewall?.stop();
    this.logger.verbose('waiting for child processes...');
    await this.firewall?.idle();
    await this.runner.flush();
    this.state.flush();
    this.logger.verbose('closing...');
    this.logger.log(logMsg.shuttingDown());
    this.unlock();
    await new Promise((r) => setImmediate(r)); // let the log transports drain
    this.logger.close();
  }

  /** PidFile from the config, else the -p value. */
  pidFileFrom(cliValue: string | undefined): string | undefined {
    return this.config.options.pidFile ?? cliValue;
  }

  /** A line for the log and stderr. */
  note(message: string): void {
    this.logger.log(message, { stderr: true });
  }

  /** Best effort after a crash: close what is open, quickly. */
  async emergencyStop(reason: string): Promise<void> {
    this.logger.log(`error: ${reason}`, { stderr: true });
    this.closing = true;
    this.captures.stop();
    this.firewall?.stop();
    await Promise.race([this.kernel?.stop(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.race([this.runner.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.state.flush();
    this.unlock();
  }
}
