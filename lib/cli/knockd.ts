// Process entry for bin/knockd. Signals are held before anything else loads (see early-signals).
import { holdSignals } from '../daemon/early-signals.js';
import { holdOptimizer } from '../daemon/optimizer.js';

holdSignals();
holdOptimizer(); // until the daemon knows it has hot code (daemon/optimizer.ts)
const { main } = await import('./knockd-main.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Whatever still holds the loop open (a stuck child pipe) must not keep a stopped daemon alive.
setTimeout(() => process.exit(code), 2000).unref();
