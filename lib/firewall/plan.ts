// What a config asks of the grant table: the guarded ports and the NAT routes. Pure.

import type { Config } from '../config/types.js';
import { formatIpv4Network } from '../net/ipv4.js';
import { formatProtoPort } from '../net/protocol.js';
import type { Guard, NatRoute } from './grants.js';

/** Every door's Open ports, each once. */
export function guardsOf(config: Config): Guard[] {
  const seen = new Set<string>();
  const out: Guard[] = [];
  for (const d of config.doors) {
    for (const p of d.open ?? []) {
      const k = formatProtoPort(p);
      if (!seen.has(k)) { seen.add(k); out.push({ protocol: p.protocol, port: p.port }); }
    }
  }
  return out;
}

/** The NAT routes (forwarded destinations) of a config, or undefined when no door has NAT keys. */
export function natRoutesOf(config: Config): NatRoute[] | undefined {
  const nats = config.doors.flatMap((d) => (d.spa?.nat ? [d.spa.nat] : []));
  if (nats.length === 0) return undefined;
  return nats.flatMap((n) => [
    ...n.forward.map((f) => ({ network: formatIpv4Network(f.network), protocol: f.protocol, port: f.port })),
    ...(n.force ? [{ network: n.force.address, protocol: n.force.protocol, port: n.force.port }] : []),
  ]);
}
