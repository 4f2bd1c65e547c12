// What the daemon's parts report for the world to watch: the engine's events and what only the
// shell sees (commands ended, packets lost before matching, firewall repairs, fleet notes, Redis
// down and up), fanned out to the metrics (Metrics_Listen) and the event sinks (Event_Webhook,
// Event_Command). Without either, the quiet observer: nothing is counted or built.

import type { SesameEvent } from '../events/types.js';
import type { CaptureSource, CommandPhase, CommandStatus, Metrics, NoteDirection } from '../metrics/registry.js';

export interface Observer {
  /** Whether anything listens: the engine emits 'event' effects only then. */
  readonly on: boolean;
  event(e: SesameEvent): void;
  command(door: string, phase: CommandPhase, status: CommandStatus): void;
  captureDropped(source: CaptureSource, count: number): void;
  fleetNote(direction: NoteDirection, result: string): void;
}

export const quietObserver: Observer = { on: false, event() {}, command() {}, captureDropped() {}, fleetNote() {} };

/** The part of an event sink the observer feeds (lib/hooks/sinks.ts). */
export interface EventTarget { send(e: SesameEvent, wallMs: number): void }

export function observer(metrics: Metrics | undefined, sink: () => EventTarget | undefined): Observer {
  return {
    on: true,
    event(e) {
      metrics?.event(e);
      // Stages are only counted: no clock read, no sink, for a flood's worth of them.
      if (e.type !== 'stage') sink()?.send(e, Date.now());
    },
    command(door, phase, status) { metrics?.command(door, phase, status); },
    captureDropped(source, count) { metrics?.captureDropped(source, count); },
    fleetNote(direction, result) { metrics?.fleetNote(direction, result); },
  };
}

/** A capture process's drop counts (lib/capture/losses.ts) by metrics source. */
export function captureLosses(o: Observer, counts: Readonly<Record<string, number>>): void {
  o.captureDropped('kernel', counts['kernel'] ?? 0);
  o.captureDropped('queue', (counts['queue'] ?? 0) + (counts['overflow'] ?? 0));
}
