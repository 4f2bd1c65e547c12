// V8's optimizing compiler, off until the daemon knows it has hot JavaScript. With knocks matched
// in the kernel and no SPA door the daemon runs a little JavaScript per completed or rate-limited
// event; the optimizer's own code and output would hold ~4 MB of an idle daemon's ~60 MB for
// nothing. libpcap matching (every packet through the matcher) and SPA doors (every datagram
// through the gate, a flood of junk included) turn it back on.

import { setFlagsFromString } from 'node:v8';

/** At the entry's first line: nothing hot has run yet. */
export function holdOptimizer(): void {
  setFlagsFromString('--no-opt');
}

export function releaseOptimizer(): void {
  setFlagsFromString('--opt');
}
