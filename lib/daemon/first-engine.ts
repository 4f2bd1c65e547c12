// The daemon's first engine: the config, the interfaces' addresses, the mode asked for (kernel
// unless pcap; KnockInput may fall back), and the replay digests and bans a previous run persisted.

import type { Config } from '../config/types.js';
import { Engine } from '../engine/engine.js';
import { localAddresses } from '../capture/addresses.js';
import type { DaemonOptions } from './options.js';
import type { BanStore, ReplayStore } from './state.js';
import type { Resolver } from './resolver.js';
import { wantedMatching } from './knock-input.js';

/** Whether anything watches this daemon (Metrics_Listen, Event_*): the engine then emits 'event' effects. */
export const watched = (config: Config): boolean => config.options.metricsListen !== undefined || config.options.events !== undefined;

export function firstEngine(config: Config, args: DaemonOptions, interfaces: readonly string[], replay: ReplayStore,
  bans: BanStore, resolver: Resolver | undefined): Engine {
  return new Engine(config, {
    localAddresses: localAddresses(interfaces, args.onlyIPv4),
    maxAttempts: args.maxAttempts,
    onlyIPv4: args.onlyIPv4,
    matching: wantedMatching(args, config) === 'pcap' ? 'pcap' : 'kernel',
    replay: { entries: replay.load(), now: Date.now() },
    bans: { entries: bans.load(), now: Date.now() },
    fleet: config.options.fleet !== undefined,
    debug: args.debug,
    events: watched(config),
  }, {
    display: (ip) => (resolver ? resolver.display(ip) : ip),
    persistReplay: (entries) => replay.save(entries),
  });
}
