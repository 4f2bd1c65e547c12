// The shell around the engine (lib/engine): it owns the processes, timers, files and sockets,
// feeds arrivals and clock ticks to the engine and carries its effects out, in order. Start, reload
// and stop order live here; what the daemon decides lives in the engine.

import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config/parser.js';
import { DEFAULTS, type Config } from '../config/types.js';
import type { Engine, Effect } from '../engine/engine.js';
import { CommandRunner } from '../actions/runner.js';
import { Logger } from '../log/logger.js';
import { logMsg } from '../log/messages.js';
import { watchAddresses, type AddressWatch } from '../capture/addresses.js';
import { isSesameError } from '../errors/errors.js';
import { DeadlineTimer } from './deadline-timer.js';
import { carryOut } from './carry-out.js';
import { configForReload } from './reload.js';
import { BanStore, GrantStore, ReplayStore, StateStore } from './state.js';
import { BanKeeper } from './ban-keeper.js';
import { DoorFirewall } from './door-firewall.js';
import { nftFirewalls } from '../firewall/nft-firewall.js';
import type { Firewalls } from '../firewall/contract.js';
import { lockInstance, tableName } from './instance-lock.js';
import { Resolver } from './resolver.js';
import { LookupQueue } from './lookup-queue.js';
import { KnockInput, type Arrival } from './knock-input.js';
import { firstEngine } from './first-engine.js';
import { StartError } from './start-error.js';
import { releaseOptimizer } from './optimizer.js';
import type { DaemonOptions } from './options.js';
import { FleetMember } from './fleet-member.js';
import { SpaTcpServer } from './spa-tcp-server.js';
import { SpaCommands } from './spa-commands.js';
import { SpaGpgRunner } from './spa-gpg-runner.js';
import { Watch } from './watch.js';
import { quietObserver, type Observer } from './observer.js';

export class Daemon {
  private engine: Engine;
  private input: KnockInput | undefined;
  private firewall: DoorFirewall | undefined;
  private addressWatch: AddressWatch | undefined;
  private fleet: FleetMember | undefined;
  private tcp: SpaTcpServer | undefined;
  private watch: Watch | undefined;
  private readonly interfaces: readonly string[];
  private readonly logger: Logger;
  private readonly state: StateStore;
  private readonly runner: CommandRunner;
  private readonly commands: SpaCommands;
  private readonly gpg = new SpaGpgRunner((id, outcome) => {
    // An answer for an engine a SIGHUP replaced is dropped there (its pending map is gone): sent again, it is judged anew.
    if (!this.closing) this.apply(this.engine.handle({ kind: 'gpg-done', id, outcome, wall: Date.now() }));
  });
  private readonly lookups: LookupQueue<Arrival> | undefined;
  private readonly deadline = new DeadlineTimer(
    () => (this.closing ? undefined : this.engine.nextDeadline()),
    (now) => this.apply(this.engine.handle({ kind: 'tick', at: now, wall: Date.now() })),
  );
  private readonly banStore: BanStore;
  private readonly bansKept: BanKeeper;
  private closing = false;
  private stopping: Promise<void> | undefined;
  /** Releases the instance's locks (state directory, table). */
  private unlock: () => void = () => {};

  private constructor(private readonly args: DaemonOptions, config: Config) {
    this.interfaces = args.interfaces ?? config.options.interfaces ?? [DEFAULTS.interface];
    const { logFile, useSyslog } = config.options;
    this.logger = new Logger({ logFile: logFile ?? args.logFile, useSyslog, verbose: args.verbose, debug: args.debug });
    const complain = (m: string) => this.logger.log(m, { stderr: true });
    this.state = new StateStore(args.stateDir, complain);
    this.runner = new CommandRunner({
      log: this.logger, onPendingChange: (p) => this.state.save(p),
      onDone: (door, phase, ok) => this.observe.command(door, phase, ok ? 'ok' : 'failed'),
    });
    this.commands = new SpaCommands((m) => this.logger.log(m), undefined,
      (door, ok) => this.observe.command(door, 'spa', ok ? 'ok' : 'failed'));
    const resolver = args.lookup ? new Resolver() : undefined;
    this.lookups = resolver && new LookupQueue(resolver, (a, at) => { if (!this.closing) this.handle(a, at); });
    this.banStore = new BanStore(args.stateDir, complain);
    this.engine = firstEngine(config, args, this.interfaces, new ReplayStore(args.stateDir, complain), this.banStore, resolver);
    this.bansKept = new BanKeeper(this.banStore, () => this.engine.bans(Date.now()), (bans) => this.input?.ban(bans));
  }

  /** Parses the config and starts listening; throws ConfigError or StartError. */
  static async start(args: DaemonOptions, firewalls: Firewalls = nftFirewalls): Promise<Daemon> {
    const config = loadConfig(args.config);
    const d = new Daemon(args, config);
    try {
      d.unlock = lockInstance(args.stateDir, args.instance);
      for (const w of config.warnings) d.logger.log(`warning: ${w}`, { stderr: true });
      d.watch = await Watch.open(config, {
        log: (m) => d.logger.log(m),
        kernelGrants: () => d.firewall?.kernelGrants() ?? Promise.resolve([]),
        bans: () => d.engine.bans(Date.now()).length,
        redisUp: () => d.fleet?.up,
        config: () => d.engine.config,
      }, config.options.fleet?.node);
      // The guard goes up before anything listens, so no knock can be granted into a missing table.
      const grants = new GrantStore(args.stateDir, tableName(args.instance), (m) => d.logger.log(m, { stderr: true }));
      d.firewall = await DoorFirewall.start(config, {
        firewalls, log: (m) => d.logger.log(m), table: tableName(args.instance), interfaces: d.interfaces, store: grants,
        repaired: (what, line) => d.observe.event({ type: 'firewall-repaired', what, detail: line }),
      });
      d.fleet = await FleetMember.join(config, {
        engine: () => d.engine, apply: (e) => { if (!d.closing) d.apply(e); }, log: (m) => d.logger.log(m), observe: d.observe,
      });
      ({ input: d.input, engine: d.engine } = await KnockInput.open(d.engine, {
        args, interfaces: d.interfaces, logger: d.logger, firewalls,
        arrive: (a) => d.arrive(a),
        unheard: (n) => void d.engine.handle({ kind: 'unheard-knocks', count: n }),
        reopened: () => d.addressWatch?.check(),
        observe: d.observe,
      }));
      const tcpPort = config.options.spaTransport?.tcpPort;
      if (tcpPort !== undefined) {
        d.tcp = await SpaTcpServer.listen(tcpPort, args.onlyIPv4, {
          message: (m) => { if (!d.closing) d.apply(d.engine.handle({ kind: 'spa-message', message: m, wall: Date.now() })); },
          log: (m) => d.logger.log(m),
        });
      }
    } catch (err) {
      d.unlock();
      void d.watch?.close();
      void d.fleet?.close();
      void d.input?.stop(true);
      // A lock's or a capture's failure is a start-up error; the firewall's a ConfigError naming the Open line.
      throw isSesameError(err) ? err : new StartError((err as Error).message);
    }
    if (d.engine.matching === 'pcap' || config.doors.some((door) => door.spa)) releaseOptimizer();
    for (const a of d.engine.localAddresses) d.logger.debug(`local IP: ${a}`);
    d.runner.restore(d.state.load()); // stops journalled by a killed run: overdue ones run now
    d.addressWatch = watchAddresses(d.interfaces, args.onlyIPv4, (addrs) => {
      d.logger.verbose(`local addresses changed: ${addrs.join(' ')}`);
      d.apply(d.engine.handle({ kind: 'local-addresses', addresses: addrs }));
    });
    d.logger.verbose(`listening on ${d.interfaces.join(',')}...`);
    d.logger.log(logMsg.startingUp(d.interfaces.join(',')));
    return d;
  }

  /** Where metrics and events go (the quiet observer without Metrics_Listen and Event_*). */
  private get observe(): Observer {
    return this.watch?.observer ?? quietObserver;
  }

  private arrive(a: Arrival): void {
    if (this.closing || !this.engine.accepts(a)) return; // no name lookup for what the engine drops (-4)
    if (this.lookups) this.lookups.submit(a, performance.now()); // -l: waits only for its own name
    else this.handle(a, performance.now());
  }

  /** One arrival, judged at its arrival time `at` (monotonic ms) by the engine of its ruleset. */
  private handle(a: Arrival, at: number): void {
    // A kernel event of an engine a SIGHUP replaced meanwhile (one that waited for its -l lookup) is
    // dropped: its doors are revoked, and its effects (a one-time rotation) would reach the wrong door.
    if (a.kernel && a.kernel.engine !== this.engine) return;
    // Its arrival on the wall clock too, not after a -l lookup: a TOTP code is judged at it.
    const wall = Math.round(Date.now() - (performance.now() - at));
    this.apply(this.engine.handle(a.kernel
      ? { kind: 'kernel-event', event: a.kernel.event, packet: a, at, wall }
      : { kind: 'packet', packet: a, at, wall }));
    this.deadline.arm();
  }

  private apply(effects: readonly Effect[]): void {
    carryOut(effects, {
      logger: this.logger,
      runner: this.runner,
      grant: (e) => void this.firewall?.apply(e.knocker, e.door, e.grants, e.done),
      rotated: (i, r) => this.engine.handle({ kind: 'onetime-rotated', doorIndex: i, result: r }),
      refreshFilter: () => this.input?.refresh(this.engine),
      banned: (ban) => this.bansKept.add(ban),
      exec: (e) => this.commands.run(e.knocker, e.door, e.argv),
      gpg: (e) => this.gpg.run(e),
      event: (e) => this.observe.event(e),
      ...(this.fleet ? {
        share: (g) => this.fleet!.share(g), claim: (c) => this.fleet!.claim(c), ask: (e) => this.fleet!.ask(e.door, e.src, e.family),
      } : {}),
    });
  }

  /** SIGHUP: re-read the config; a broken file is logged and the running config stays. */
  reload(): void {
    this.logger.log(logMsg.rereading(this.args.config));
    const config = configForReload(this.args.config, this.firewall !== undefined, this.logger);
    if (!config) return;
    // Refused as a whole, before anything changes: the guard and the doors stay one config's.
    const refusal = this.input?.refusal(config) ?? this.firewall?.refusal(config);
    if (refusal) { this.logger.log(refusal, { stderr: true }); return; }
    void this.firewall?.reload(config)
      .catch((err: unknown) => this.logger.log(`firewall: reload failed: ${(err as Error).message}`, { stderr: true }));
    if (JSON.stringify(config.options.fleet) !== JSON.stringify(this.engine.config.options.fleet)) {
      this.logger.log('fleet: Fleet_* settings changed; they take effect when knockd restarts', { stderr: true });
    } else {
      this.fleet?.rekey(config); // the key file's content: a rollover takes a SIGHUP, not a restart
    }
    if (config.options.spaTransport?.tcpPort !== this.engine.config.options.spaTransport?.tcpPort) {
      this.logger.log('SPA_TCP_Port changed; it takes effect when knockd restarts', { stderr: true });
    }
    if (config.options.captureBuffer !== this.engine.config.options.captureBuffer) {
      this.logger.log('Capture_Buffer changed; it takes effect when knockd restarts', { stderr: true });
    }
    const before = this.engine;
    void this.watch?.reload(before.config, config, config.options.fleet?.node);
    this.engine = before.next(config, Date.now()); // what carries over: Engine.next
    this.logger.verbose(`re-opening log file`);
    this.logger.openFile();
    this.input?.reload(this.engine);
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
    await this.input?.stop();
    await this.tcp?.close();
    this.gpg.stop();
    await this.fleet?.close();
    this.firewall?.stop();
    await this.watch?.close();
    this.logger.verbose('waiting for child processes...');
    await this.firewall?.idle();
    await this.runner.flush();
    this.state.flush();
    this.bansKept.flush();
    this.logger.verbose('closing...');
    this.logger.log(logMsg.shuttingDown());
    this.unlock();
    await new Promise((r) => setImmediate(r)); // let the log transports drain
    this.logger.close();
  }

  /** PidFile from the config, else the -p value. */
  pidFileFrom(cliValue: string | undefined): string | undefined {
    return this.engine.config.options.pidFile ?? cliValue;
  }

  /** A line for the log and stderr. */
  note(message: string): void {
    this.logger.log(message, { stderr: true });
  }

  /** Best effort after a crash: close what is open, quickly. */
  async emergencyStop(reason: string): Promise<void> {
    this.logger.log(`error: ${reason}`, { stderr: true });
    this.closing = true;
    this.firewall?.stop();
    await this.input?.stop(true);
    await this.tcp?.close();
    await Promise.race([this.runner.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.state.flush();
    this.bansKept.flush();
    this.unlock();
  }
}
