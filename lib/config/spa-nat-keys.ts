// Door keys for SPA NAT access (fwknopd's ENABLE_IPT_FORWARDING, ENABLE_IPT_LOCAL_NAT, FORCE_NAT,
// FORCE_SNAT/FORCE_MASQUERADE), each value checked where it is read with the line in the error:
//   SPA_Forward   = 10.0.0.0/24 tcp/3306, 10.0.0.7 tcp/3389   what NAT requests (types 2/4) may reach
//   SPA_Local_NAT = tcp/22, tcp/80                             local ports for types 5/6
//   SPA_Force_NAT = 10.0.0.5 tcp/3306                          every grant of the door goes there
//   SPA_SNAT      = masquerade | 192.0.2.1                     source rewrite for forwarded flows
// Destinations are IPv4 (what fwknop's nat_access field and NAT in fwknopd carry).

import { ConfigError, failAtLine } from './errors.js';
import { spaDraft, type DoorKey, type KeyContext, type SpaDraft } from './drafts.js';
import type { NatAddress, NatDestination, SpaNat } from './types.js';
import { parseOpenPorts } from './port-list.js';
import { ipv4Number, parseIpv4Network } from '../net/ipv4.js';

/** `ADDRESS[/LEN] proto/port`: one destination. */
function destination(ctx: KeyContext, key: string, item: string): NatDestination {
  const words = item.trim().split(/\s+/);
  if (words.length !== 2) failAtLine(ctx, `${key}: "${item.trim()}" is not ADDRESS[/LEN] PROTOCOL/PORT (e.g. 10.0.0.5 tcp/3306)`);
  const network = parseIpv4Network(words[0]!);
  if (!network) {
    const why = words[0]!.includes(':') ? 'NAT destinations are IPv4 addresses' : 'not an IPv4 address or network (host bits must be zero)';
    failAtLine(ctx, `${key}: "${words[0]}": ${why}`);
  }
  const [port] = parseOpenPorts(ctx, key, words[1]!);
  return { network, protocol: port!.protocol, port: port!.port };
}

export const SPA_NAT_DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['SPA_FORWARD'],
    apply(door, value, ctx) {
      const list = value.split(',').map((item) => destination(ctx, 'SPA_Forward', item));
      spaDraft(door, ctx).forward = { list, line: ctx.line };
    },
  },
  {
    names: ['SPA_LOCAL_NAT'],
    apply(door, value, ctx) { spaDraft(door, ctx).localNat = { list: parseOpenPorts(ctx, 'SPA_Local_NAT', value), line: ctx.line }; },
  },
  {
    names: ['SPA_FORCE_NAT'],
    apply(door, value, ctx) {
      const d = destination(ctx, 'SPA_Force_NAT', value);
      if (d.network.prefix !== 32) failAtLine(ctx, `SPA_Force_NAT: "${value.trim()}" names a network; give one address`);
      const to: NatAddress = { address: d.network.address, protocol: d.protocol, port: d.port };
      spaDraft(door, ctx).forceNat = { to, line: ctx.line };
    },
  },
  {
    names: ['SPA_SNAT'],
    apply(door, value, ctx) {
      const v = value.trim();
      if (v.toLowerCase() !== 'masquerade' && ipv4Number(v) === undefined) {
        failAtLine(ctx, `SPA_SNAT must be masquerade or an IPv4 address, not "${v}"`);
      }
      spaDraft(door, ctx).snat = { to: v.toLowerCase() === 'masquerade' ? 'masquerade' : v, line: ctx.line };
    },
  },
];

/** The door's NAT settings once the file is read; undefined when it has none. Throws for SNAT alone. */
export function finishNat(s: SpaDraft, door: string, file: string): SpaNat | undefined {
  if (!s.forward && !s.localNat && !s.forceNat && !s.snat) return undefined;
  if (s.snat && !s.forward && !s.forceNat) {
    throw new ConfigError(`config: section ${door}: SPA_SNAT rewrites forwarded flows: it needs SPA_Forward or SPA_Force_NAT`,
      file, s.snat.line);
  }
  return { forward: s.forward?.list ?? [], local: s.localNat?.list ?? [], force: s.forceNat?.to, snat: s.snat?.to };
}
