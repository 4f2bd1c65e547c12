// prom-client's process_* collectors (CPU seconds, start time, resident and virtual memory, open
// and maximum file descriptors), and only those: its default set also holds nodejs_active_*_total
// gauges that `promtool check metrics` flags, and an event-loop lag monitor that samples every
// 10 ms, a cost the packet path should not pay. prom-client exports them one module each.

import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

type Collector = (registry: Registry, config: object) => void;

const COLLECTORS = ['processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors'];

export function registerProcessMetrics(registry: Registry): void {
  const require = createRequire(import.meta.url);
  for (const name of COLLECTORS) (require(`prom-client/lib/metrics/${name}`) as Collector)(registry, {});
}
