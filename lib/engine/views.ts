// What the shell reads of an engine's doors as they are now (one-time doors move on, exhausted ones
// leave): the libpcap capture filter and the doors nftables must match.

import { buildFilter, type PortRange } from '../matcher/capture-filter.js';
import type { Door } from '../config/types.js';
import { pairRanges } from '../totp/ports.js';
import type { KernelDoor } from '../ruleset/spec.js';
import type { EngineState } from './state.js';

export function captureFilter(s: EngineState): string {
  const doors = s.config.doors
    .map((d, i) => ({ ...d, sequence: s.matcher.sequenceOf(i), ranges: codeRanges(d), enabled: s.matcher.isEnabled(i) }))
    .filter((d) => d.enabled && (d.sequence.length > 0 || d.ranges.length > 0));
  // An SPA door is, for the filter, a one-step UDP sequence on its SPA port.
  const spa = new Set<string>();
  for (const d of s.config.doors) {
    if (!d.spa || spa.has(`${d.spa.port} ${d.target}`)) continue;
    spa.add(`${d.spa.port} ${d.target}`);
    doors.push({ ...d, sequence: [{ protocol: 'udp', port: d.spa.port }], ranges: [], tcpFlags: { set: 0, clear: 0 }, enabled: true });
  }
  // SPA over HTTP: the web server's port, to every address an SPA door listens on.
  const http = s.config.options.spaTransport?.httpPort;
  const targets = new Set<string | undefined>();
  for (const d of s.config.doors) {
    if (!d.spa || http === undefined || targets.has(d.target)) continue;
    targets.add(d.target);
    doors.push({ ...d, sequence: [{ protocol: 'tcp', port: http }], ranges: [], tcpFlags: { set: 0, clear: 0 }, enabled: true });
  }
  return buildFilter({ doors, local: s.local, onlyIPv4: s.opts.onlyIPv4 });
}

/** A TOTP door's code ports: one range of 100 per pair of digits. */
function codeRanges(d: Door): PortRange[] {
  return d.totp ? pairRanges(d.totp.portBase, d.totp.digits, d.totp.protocol) : [];
}

export function kernelDoors(s: EngineState): KernelDoor[] {
  const out: KernelDoor[] = [];
  s.config.doors.forEach((door, index) => {
    const sequence = s.matcher.sequenceOf(index);
    if (s.matcher.isEnabled(index) && sequence.length > 0) out.push({ index, version: s.versions[index]!, door, sequence });
  });
  return out;
}
