// Signals that arrive before the daemon can act on them (module loading, config, captures) are
// held instead of taking their default action, which would end the process mid-start. The entry
// point holds them first thing; the daemon takes what was held once it has started, and one-shot
// modes (--check, --status, -V, ...) let them go, re-raising a held SIGINT/SIGTERM.

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type HeldSignal = (typeof SIGNALS)[number];

const held: HeldSignal[] = [];
const handlers = new Map<HeldSignal, () => void>();

export function holdSignals(): void {
  for (const s of SIGNALS) {
    if (handlers.has(s)) continue;
    const h = () => { if (!held.includes(s)) held.push(s); };
    handlers.set(s, h);
    process.on(s, h);
  }
}

/** Stops holding; returns what arrived meanwhile, in order. */
export function takeHeldSignals(): HeldSignal[] {
  for (const [s, h] of handlers) process.off(s, h);
  handlers.clear();
  return held.splice(0);
}

/** For modes that are not the daemon: stop holding and let a held INT/TERM act as it would have. */
export function releaseSignals(): void {
  const got = takeHeldSignals().find((s) => s !== 'SIGHUP');
  if (got) process.kill(process.pid, got);
}
