// Sesame's metrics (names.ts) in a prom-client registry of their own: counters fed by events and
// by the shell's parts, gauges read when Prometheus scrapes (grants from the kernel, bans, events
// dropped). Every series a door or fixed label list can have starts at 0, so rate() and alert
// rules see it from the first scrape.

import type { Counter, Gauge } from 'prom-client';
import * as prom from './prom-parts.js';
import { GRANT_KINDS, REFUSAL_REASONS, type SesameEvent } from '../events/types.js';
import { METRICS, type MetricName } from './names.js';
import { registerProcessMetrics } from './process-metrics.js';
import { Tally } from './tally.js';

/** What the registry reads at scrape time. */
export interface Readings {
  /** Grants in the kernel now, by door name: every door with Open ports, 0 when it has none. */
  activeGrants(): Promise<ReadonlyMap<string, number>>;
  /** Sources banned now. */
  bans(): number;
  /** Events dropped so far, by sink ('webhook', 'command'). */
  eventsDropped(): Readonly<Record<string, number>>;
  /** Fleet: whether Redis is reachable (read only in a fleet). */
  redisUp(): boolean | undefined;
}

export type CommandPhase = 'start' | 'stop' | 'spa';
export type CommandStatus = 'ok' | 'failed';
export type NoteDirection = 'in' | 'out';
export type CaptureSource = 'kernel' | 'queue' | 'nflog';

const COMMAND_PHASES: readonly CommandPhase[] = ['start', 'stop', 'spa'];
const REPAIRS = ['table', 'grants', 'kernel-table'];
const NOTE_RESULTS = [['in', 'accepted'], ['in', 'refused'], ['out', 'sent'], ['out', 'failed']] as const;

export class Metrics {
  readonly registry = new prom.Registry();
  private readonly grants: Counter;
  private readonly stages: Counter;
  private readonly refused: Counter;
  private readonly commands: Counter;
  private readonly dropped: Counter;
  private readonly repairs: Counter;
  private readonly notes: Counter;
  private readonly doors = new Set<string>();
  /** Stages and refusals, counted at flood rates: handed to prom-client when it collects. */
  private readonly stageTally = new Tally();
  private readonly refusedTally = new Tally();

  /** `fleet`: this daemon is in a fleet (its notes' series start at 0). */
  constructor(private readonly read: Readings, fleet = false) {
    const counter = (m: MetricName, tally?: Tally) => new prom.Counter({
      name: m.name, help: m.help, labelNames: [...m.labels], registers: [],
      ...(tally ? { collect(this: Counter) { tally.flush((labels, n) => this.inc(labels, n)); } } : {}),
    });
    this.grants = counter(METRICS.grants);
    this.stages = counter(METRICS.stages, this.stageTally);
    this.refused = counter(METRICS.spaRefused, this.refusedTally);
    this.commands = counter(METRICS.commands);
    this.dropped = counter(METRICS.captureDropped);
    this.repairs = counter(METRICS.repairs);
    this.notes = counter(METRICS.fleetNotes);
    for (const c of [this.grants, this.stages, this.refused, this.commands, this.dropped, this.repairs, this.notes]) {
      this.registry.registerMetric(c);
    }
    for (const reason of REFUSAL_REASONS) this.refused.inc({ reason }, 0);
    for (const source of ['kernel', 'queue', 'nflog']) this.dropped.inc({ source }, 0);
    for (const what of REPAIRS) this.repairs.inc({ what }, 0);
    if (fleet) for (const [direction, result] of NOTE_RESULTS) this.notes.inc({ direction, result }, 0);
    this.gauges(fleet);
    registerProcessMetrics(this.registry);
  }

  /** The doors of the config in force (at start and after each reload): their series start at 0. */
  doorsAre(doors: readonly { readonly name: string }[]): void {
    for (const d of doors) {
      if (this.doors.has(d.name)) continue;
      this.doors.add(d.name);
      for (const kind of GRANT_KINDS) this.grants.inc({ door: d.name, kind }, 0);
      for (const phase of COMMAND_PHASES) for (const status of ['ok', 'failed']) this.commands.inc({ door: d.name, phase, status }, 0);
    }
  }

  event(e: SesameEvent): void {
    switch (e.type) {
      case 'grant': this.grants.inc({ door: e.door, kind: e.kind }); break;
      case 'stage': this.stageTally.add(`${e.door}\0${e.stage}`, () => ({ door: e.door, stage: String(e.stage) })); break;
      case 'spa-refused': this.refusedTally.add(e.reason, () => ({ reason: e.reason })); break;
      case 'firewall-repaired': this.repairs.inc({ what: e.what }); break;
      case 'ban': case 'fleet-redis': case 'refusals': break; // gauges read at scrape time; summaries are for sinks
    }
  }

  command(door: string, phase: CommandPhase, status: CommandStatus): void {
    this.commands.inc({ door, phase, status });
  }

  captureDropped(source: CaptureSource, count: number): void {
    if (count > 0) this.dropped.inc({ source }, count);
  }

  fleetNote(direction: NoteDirection, result: string): void {
    this.notes.inc({ direction, result });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private gauges(fleet: boolean): void {
    const read = this.read;
    const gauge = (m: MetricName, collect: (g: Gauge) => void | Promise<void>) =>
      new prom.Gauge({ name: m.name, help: m.help, labelNames: [...m.labels], registers: [this.registry],
        collect() { return collect(this); } });
    gauge(METRICS.activeGrants, async (g) => {
      g.reset();
      for (const [door, n] of await read.activeGrants()) g.set({ door }, n);
    });
    gauge(METRICS.bansActive, (g) => g.set(read.bans()));
    // Without a fleet there is no Redis to be up or down: no series at all.
    if (fleet) gauge(METRICS.redisUp, (g) => g.set(read.redisUp() ? 1 : 0));
    const dropped = new prom.Counter({ name: METRICS.eventsDropped.name, help: METRICS.eventsDropped.help,
      labelNames: [...METRICS.eventsDropped.labels], registers: [this.registry],
      collect() {
        this.reset();
        for (const [sink, n] of Object.entries(read.eventsDropped())) this.inc({ sink }, n);
      } });
    void dropped;
  }
}
