// The running knockd: capture → matcher → log lines and commands. One object owns the pieces and
// their order of start and stop; each piece does one job (see lib/*).

import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config/parser.js';
import { ConfigError, errorLocation } from '../config/errors.js';
import { DEFAULTS, type Config } from '../config/types.js';
import { Matcher } from '../matcher/matcher.js';
import type { MatchEvent, Packet } from '../matcher/types.js';
import { OneTimeDoors } from '../onetime/doors.js';
import { CommandRunner, MAX_TIMER_MS } from '../actions/runner.js';
import { Logger } from '../log/logger.js';
import { logMsg } from '../log/messages.js';
import { buildFilter } from '../capture/filter.js';
import { localAddresses, watchAddresses } from '../capture/addresses.js';
import { CaptureSupervisor } from '../capture/supervisor.js';
import { ReplayStore, StateStore } from './state.js';
import { SpaGate } from '../matcher/spa-gate.js';
import { ReplayCache } from '../spa/replay.js';
import { LogRateLimit } from '../log/rate-limit.js';
import { DoorFirewall } from './door-firewall.js';
import { lockInstance, tableName } from './instance-lock.js';
import { Resolver } from './resolver.js';
import { LookupQueue } from './lookup-queue.js';
import { LossReport } from '../capture/losses.js';
import type { DaemonOptions } from './options.js';

/** A start-up failure: one line for the user, exit status 1. */
export class StartError extends Error {}


export class Daemon {
  private config: Config;
  private matcher: Matcher;
  private onetime: OneTimeDoors;
  private gate: SpaGate;
  private replay: ReplayCache;
  private readonly replayStore: ReplayStore;
  private readonly spaLogLimit = new LogRateLimit(20, 50);
  private readonly losses = new LossReport();
  // Stage and timeout lines: far above any real knocking, far below a flood's (a line per
  // spoofed packet was ~90 GB of log a day at top rate).
  private readonly knockLogLimit = new LogRateLimit(100, 500, Date.now, (n) => `${n} knock events not logged (rate limit)`);
  private firewall: DoorFirewall | undefined;
  private readonly runner: CommandRunner;
  private readonly logger: Logger;
  private readonly state: StateStore;
  private readonly resolver: Resolver | undefined;
  private readonly captures: CaptureSupervisor[] = [];
  private readonly interfaces: readonly string[];
  private local: string[];
  private timer: NodeJS.Timeout | undefined;
  private stopWatching: (() => void) | undefined;
  private readonly lookups: LookupQueue | undefined;
  private evictionsLogged = 0;
  private closing = false;
  private stopping: Promise<void> | undefined;
  /** Releases the instance's locks (state directory, table). */
  private unlock: () => void = () => {};

  private constructor(private readonly args: DaemonOptions, config: Config) {
    this.config = config;
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
    this.local = localAddresses(this.interfaces, args.onlyIPv4);
    this.matcher = this.newMatcher(config);
    this.onetime = new OneTimeDoors(config.doors, this.logger);
    this.replayStore = new ReplayStore(args.stateDir, (m) => this.logger.log(m, { stderr: true }));
    this.replay = Daemon.newReplayCache(config);
    this.replay.load(this.replayStore.load(), Date.now());
    this.gate = new SpaGate(config.doors, this.replay, this.local);
  }

  /** Digests are held twice the widest age window: a packet may be stamped up to SPA_Max_Age ahead. */
  private static newReplayCache(config: Config): ReplayCache {
    const maxAge = Math.max(DEFAULTS.spaMaxAge, ...config.doors.map((d) => d.spa?.maxAge ?? 0));
    return new ReplayCache({ windowMs: 2 * maxAge * 1000 });
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
      throw new StartError((err as Error).message);
    }
    for (const w of config.warnings) d.logger.log(`warning: ${w}`, { stderr: true });
    // The guard goes up before anything listens, so no knock can be granted into a missing table.
    try {
      d.firewall = await DoorFirewall.start(config, (m) => d.logger.log(m), table);
    } catch (err) {
      d.unlock();
      throw err;
    }
    await d.openCaptures();
    // Stops journalled by a previous run that was killed: overdue ones run now.
    d.runner.restore(d.state.load());
    d.stopWatching = watchAddresses(d.interfaces, args.onlyIPv4, (addrs) => d.addressesChanged(addrs));
    const names = d.interfaces.join(',');
    d.logger.verbose(`listening on ${names}...`);
    d.logger.log(logMsg.startingUp(names));
    return d;
  }

  private newMatcher(config: Config): Matcher {
    return new Matcher(config.doors, { localAddresses: this.local, maxAttempts: this.args.maxAttempts });
  }

  private filter(): string {
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
    return buildFilter({ doors, local: this.local, onlyIPv4: this.args.onlyIPv4 });
  }

  private async openCaptures(): Promise<void> {
    const filter = this.filter();
    this.logger.debug(`adding pcap expression: ${filter}`);
    for (const iface of this.interfaces) {
      const sup = new CaptureSupervisor(iface, filter, {
        packets: (ps) => this.onPackets(ps),
        notice: (m) => this.logger.log(m, { stderr: true }),
        dropped: (counts) => {
          this.logger.debug(`dropped frames: ${JSON.stringify(counts)}`);
          const line = this.losses.add(iface, counts);
          if (line) this.logger.log(line);
        },
      });
      try {
        const link = await sup.start();
        this.logger.debug(link === 'ETHERNET' ? 'ethernet interface detected' : `${link} interface detected`);
      } catch (err) {
        for (const c of this.captures) c.stop();
        sup.stop();
        throw new StartError((err as Error).message);
      }
      this.captures.push(sup);
    }
    for (const a of this.local) this.logger.debug(`local IP: ${a}`);
  }

  private refreshFilter(): void {
    const f = this.filter();
    this.logger.debug(`new pcap expression: ${f}`);
    for (const c of this.captures) c.setFilter(f);
  }

  private addressesChanged(addrs: string[]): void {
    this.local = addrs;
    this.matcher.setLocalAddresses(addrs);
    this.gate.setLocalAddresses(addrs);
    this.logger.verbose(`local addresses changed: ${addrs.join(' ')}`);
    this.refreshFilter();
  }

  private onPackets(packets: Packet[]): void {
    if (this.closing) return;
    if (this.args.onlyIPv4) packets = packets.filter((p) => p.family === 4);
    const at = performance.now();
    for (const p of packets) {
      if (this.lookups) this.lookups.submit(p, at); // -l: waits only for its own name
      else this.handle(p, at);
    }
  }

  /** One packet, matched at its arrival time `at` (monotonic ms). */
  private handle(p: Packet, at: number): void {
    this.logger.debug(`${p.protocol}: ${p.src} -> ${p.dst}:${p.dport}`);
    if (p.protocol === 'udp' && this.gate.ports.has(p.dport)) this.handleSpa(p);
    this.dispatch(this.matcher.handle(p, at));
    this.schedule();
  }

  private handleSpa(p: Packet): void {
    const handled = this.gate.handle({ ...p, payload: p.payload ?? '' }, Date.now());
    let verdict = handled.verdict;
    // The digest is on disk before anything is opened: a replay after a crash is still refused.
    // If it cannot be written (disk full), nothing is opened: fail closed.
    if (handled.kept && !this.replayStore.save(this.replay.kept()) && verdict.type === 'granted') {
      verdict = { type: 'refused', src: p.src, door: verdict.door, reason: 'replay cache not written (disk full?)' };
    }
    const who = this.knocker(p.src);
    switch (verdict.type) {
      case 'ignored':
        this.logger.debug(`SPA: ${p.src}: ignored: ${verdict.why}`);
        break;
      case 'refused':
        this.spaLogLimit.line(logMsg.spaRefused(who, verdict.door?.name, verdict.reason), (l) => this.logger.log(l));
        break;
      case 'granted': {
        const ports = verdict.ports.map((s) => `${s.protocol}/${s.port}`).join(',');
        this.logger.log(logMsg.spaOpen(who, verdict.door.name, verdict.ip, ports, verdict.fields.username, verdict.timeout));
        void this.firewall?.grant(who, verdict.door, verdict.ip, verdict.timeout, verdict.ports);
        for (const s of verdict.ports) {
          this.runner.open({
            door: verdict.door, ip: verdict.ip, family: verdict.family, knocker: who,
            spa: { proto: s.protocol, port: s.port, timeout: verdict.timeout },
          });
        }
        break;
      }
    }
  }

  private knocker(ip: string): string {
    return this.resolver ? this.resolver.display(ip) : ip;
  }

  private dispatch(events: MatchEvent[]): void {
    let sequencesChanged = false;
    for (const e of events) {
      const who = this.knocker(e.src);
      switch (e.type) {
        case 'stage':
          this.knockLogLimit.line(logMsg.stage(who, e.door.name, e.stage), (l) => this.logger.log(l));
          break;
        case 'open':
          this.logger.log(logMsg.openSesame(who, e.door.name));
          this.runner.open({ door: e.door, ip: e.src, family: e.family, knocker: who });
          void this.firewall?.grant(who, e.door, e.src, e.door.cmdTimeout);
          if (e.door.oneTime && this.onetime.used(e.doorIndex, this.matcher)) sequencesChanged = true;
          break;
        case 'timeout':
          this.knockLogLimit.line(logMsg.sequenceTimeout(who, e.door.name, e.stage), (l) => this.logger.log(l));
          break;
        case 'reset':
          this.logger.debug(`removing failed knock attempt (${e.src})`);
          break;
        case 'flags-ignored':
          this.logger.debug(`packet does not match the tcpflags of ${e.door.name}, ignoring...`);
          break;
        case 'evicted':
          // One line per power of two, so a flood cannot flood the log too.
          if (this.matcher.evictions >= this.evictionsLogged * 2 || this.evictionsLogged === 0) {
            this.evictionsLogged = this.matcher.evictions;
            this.logger.log(`attempt table full: ${this.matcher.evictions} oldest attempts evicted so far`);
          }
          break;
      }
    }
    if (sequencesChanged) this.refreshFilter();
  }

  /**
   * Ruling 2: a timer reports an expired attempt without waiting for the next packet. A deadline
   * past setTimeout's limit (Seq_Timeout over 24.8 days) is reached by waking up once at the limit
   * (Node would otherwise fire after 1 ms, again and again).
   */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.matcher.nextDeadline();
    if (next === undefined || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch(this.matcher.expire(performance.now()));
      this.schedule();
    }, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(next - performance.now()))));
  }

  /** SIGHUP: re-read the config; a broken file is logged and the running config stays. */
  reload(): void {
    this.logger.log(logMsg.rereading(this.args.config));
    let config: Config;
    try {
      config = loadConfig(this.args.config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // One log line: knockd's message, then where (unless the message already names the file).
      const where = err.message.startsWith(`${err.file}:`) ? '' : ` (${errorLocation(err)})`;
      this.logger.log(`${err.message}${where}`, { stderr: true });
      this.logger.log('config not reloaded: keeping the running configuration');
      return;
    }
    for (const w of config.warnings) this.logger.log(`warning: ${w}`, { stderr: true });
    if (config.doors.some((d) => d.open) && !this.firewall) {
      this.logger.log('config not reloaded: Open was added; restart knockd to set up the firewall table', { stderr: true });
      return;
    }
    this.config = config;
    void this.firewall?.reload(config).catch((err: unknown) => this.logger.log(`firewall: reload failed: ${(err as Error).message}`, { stderr: true }));
    this.matcher = this.newMatcher(config); // in-progress knocks are dropped, as knockd does
    this.onetime = new OneTimeDoors(config.doors, this.logger);
    const kept = this.replay.kept();
    this.replay = Daemon.newReplayCache(config);
    this.replay.load(kept, Date.now());
    this.gate = new SpaGate(config.doors, this.replay, this.local);
    this.logger.verbose(`re-opening log file`);
    this.logger.openFile();
    this.refreshFilter();
    this.schedule();
  }

  /** SIGTERM/SIGINT: every pending stop command runs before exit; nothing stays open. */
  shutdown(): Promise<void> {
    // A second signal waits for the same shutdown: it must not exit before the stop commands ran.
    this.stopping ??= this.shutdownOnce();
    return this.stopping;
  }

  private async shutdownOnce(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWatching?.();
    for (const c of this.captures) c.stop();
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
    for (const c of this.captures) c.stop();
    this.firewall?.stop();
    await Promise.race([this.runner.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.state.flush();
    this.unlock();
  }
}
