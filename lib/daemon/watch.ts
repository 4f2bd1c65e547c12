// Metrics_Listen and Event_* in the daemon: the metrics registry and its listener, the event
// sinks, and the observer that feeds them (observer.ts). prom-client and the sinks are loaded only
// when the config names them. Metrics_Listen takes effect at start; Event_* also on SIGHUP.

import { hostname } from 'node:os';
import type { Config, Door } from '../config/types.js';
import type { ProtoPort } from '../net/protocol.js';
import type { Metrics, Readings } from '../metrics/registry.js';
import type { MetricsServer } from '../metrics/server.js';
import type { EventSink } from '../hooks/sinks.js';
import { observer, quietObserver, type Observer } from './observer.js';
import { StartError } from './start-error.js';
import { CachedRead } from '../metrics/cached-read.js';
import { watched } from './first-engine.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

export interface WatchDeps {
  readonly log: (line: string) => void;
  /** The ports of the kernel's allow grants now (NAT grants are not in the allow sets). */
  kernelGrants(): Promise<readonly ProtoPort[]>;
  bans(): number;
  redisUp(): boolean | undefined;
  /** The config in force (its doors name the series). */
  config(): Config;
}

/**
 * Allow grants in the kernel by door: each door with Open ports, counting the grants of its ports
 * (a port two doors open counts for both: the kernel does not say which door granted it).
 */
export function grantsByDoor(doors: readonly Door[], grants: readonly (ProtoPort & { readonly nat?: unknown })[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of doors) {
    if (!d.open?.length) continue;
    const mine = grants.filter((g) => !g.nat && d.open!.some((o) => o.protocol === g.protocol && o.port === g.port));
    counts.set(d.name, mine.length);
  }
  return counts;
}

/** A scrape reads the kernel's grants at most this often (ms); scrapes meanwhile share the last read. */
export const KERNEL_READ_MS = 5000;

export class Watch {
  private sink: EventSink | undefined;
  private readonly droppedBefore: Record<string, number> = {};
  /** SIGHUPs one after another: the last config's sinks are the ones left open. */
  private reloads: Promise<void> = Promise.resolve();
  readonly observer: Observer;

  private constructor(
    private readonly deps: WatchDeps, private readonly metrics: Metrics | undefined, private readonly server: MetricsServer | undefined,
  ) {
    this.observer = watched(deps.config()) ? observer(metrics, () => this.sink) : quietObserver;
  }

  /** Opens what `config` names; a listener that cannot bind is a StartError naming Metrics_Listen. */
  static async open(config: Config, deps: WatchDeps, node: string | undefined): Promise<Watch> {
    const listen = config.options.metricsListen;
    let metrics: Metrics | undefined;
    let server: MetricsServer | undefined;
    if (listen) {
      const [{ Metrics: M }, { MetricsServer: S }] = await Promise.all([import('../metrics/registry.js'), import('../metrics/server.js')]);
      let w: Watch | undefined;
      const grants = new CachedRead(() => deps.kernelGrants(), KERNEL_READ_MS);
      const readings: Readings = {
        activeGrants: async () => grantsByDoor(deps.config().doors, await grants.get(performance.now())),
        bans: () => deps.bans(),
        redisUp: () => deps.redisUp(),
        eventsDropped: () => w?.dropped() ?? {},
      };
      metrics = new M(readings, config.options.fleet !== undefined);
      metrics.doorsAre(config.doors);
      const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
      try {
        server = await S.listen(listen.host, listen.port, metrics, deps.log);
      } catch (err) {
        throw new StartError(`Metrics_Listen = ${where} (line ${listen.line}): cannot listen: ${(err as Error).message}`);
      }
      deps.log(`metrics: serving GET /metrics on ${where}`);
      w = new Watch(deps, metrics, server);
      await w.openSinks(config, node);
      return w;
    }
    const w = new Watch(deps, undefined, undefined);
    await w.openSinks(config, node);
    return w;
  }

  /** SIGHUP: new doors' series; the event sinks reopened if Event_* changed. Never rejects. */
  reload(before: Config, config: Config, node: string | undefined): Promise<void> {
    this.reloads = this.reloads.then(() => this.reloadOnce(before, config, node))
      .catch((err: unknown) => this.deps.log(`events: reload failed: ${(err as Error).message}`));
    return this.reloads;
  }

  private async reloadOnce(before: Config, config: Config, node: string | undefined): Promise<void> {
    this.metrics?.doorsAre(config.doors);
    if (JSON.stringify(before.options.metricsListen) !== JSON.stringify(config.options.metricsListen)) {
      this.deps.log('Metrics_Listen changed; it takes effect when knockd restarts');
    }
    if (JSON.stringify(before.options.events) === JSON.stringify(config.options.events)) return;
    if (!watched(before)) {
      this.deps.log('Event_* set where none was; it takes effect when knockd restarts');
      return;
    }
    // The new sinks first, then the old ones close: no event falls between them.
    const old = this.sink;
    await this.openSinks(config, node);
    if (old) {
      await old.close(2000);
      for (const st of old.stats()) this.droppedBefore[st.sink] = (this.droppedBefore[st.sink] ?? 0) + st.dropped;
    }
  }

  /** Dropped so far by sink, those of sinks a SIGHUP replaced included (the counter never goes back). */
  private dropped(): Record<string, number> {
    const all = { ...this.droppedBefore };
    for (const s of this.sink?.stats() ?? []) all[s.sink] = (all[s.sink] ?? 0) + s.dropped;
    return all;
  }

  private async openSinks(config: Config, node: string | undefined): Promise<void> {
    const e = config.options.events;
    if (!e) { this.sink = undefined; return; }
    const { openSinks } = await import('../hooks/sinks.js');
    this.sink = openSinks({
      ...(e.webhook ? { webhook: { url: e.webhook.url, ...(e.webhook.secret ? { secret: encode(e.webhook.secret) } : {}) } } : {}),
      ...(e.command ? { command: e.command } : {}),
      node: node ?? hostname().split('.')[0]!, log: this.deps.log,
    });
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.sink?.close(2000);
  }
}
