// prom-client's Registry, Counter and Gauge, loaded without its index: the index also loads the
// pushgateway client, the cluster aggregator, Histogram and Summary (with their digest libraries)
// and every default collector, about half a megabyte of heap a daemon being watched never uses.
// Each is one CommonJS module exporting its class (prom-client 15).

import { createRequire } from 'node:module';
import type { Counter as CounterT, Gauge as GaugeT, Registry as RegistryT } from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof RegistryT;
export const Counter = require('prom-client/lib/counter') as typeof CounterT;
export const Gauge = require('prom-client/lib/gauge') as typeof GaugeT;
