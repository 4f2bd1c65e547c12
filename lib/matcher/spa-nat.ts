// What an authenticated SPA request may reach through NAT, decided from the door's keys alone:
// nothing is forwarded to a destination the door does not list, whatever the packet asks.
//   types 2/4 (NAT access, `fwknop -N host:port`): the nat_access host must be an IPv4 address
//     inside an SPA_Forward network with that protocol and port (names are not resolved);
//   types 5/6 (local NAT, `--nat-local`): the nat_access port must be in SPA_Local_NAT;
//   SPA_Force_NAT: every grant of the door goes to that address, whatever the packet asks.
// The external port (where the client connects on the bastion) is the message's first proto/port,
// as in fwknopd. Pure.

import type { SpaDoor } from '../config/types.js';
import type { ProtoPort } from '../net/protocol.js';
import { formatProtoPort, protoPortText } from '../net/protocol.js';
import { inIpv4Network, ipv4Number } from '../net/ipv4.js';
import { parseNatAccess } from '../spa/access.js';
import { kindOf } from '../spa/message-types.js';

export interface NatGrant {
  /** `forward`: DNAT to an internal address; `local`: to a port of the bastion itself. */
  readonly kind: 'forward' | 'local';
  /** The port the client connects to on the bastion. */
  readonly external: ProtoPort;
  /** Internal IPv4 address (forward), or the bastion's address the packet came to (local). */
  readonly address: string;
  /** Port the connection is forwarded to. */
  readonly port: number;
}

export type NatDecision = { readonly nat: NatGrant } | { readonly refusal: string };

export function isNatType(messageType: number): boolean {
  return kindOf(messageType)?.nat !== undefined;
}

/** The NAT grant for an authenticated request, a refusal, or undefined when no NAT is involved. */
export function natDecision(spa: SpaDoor, messageType: number, natAccess: string | null, ports: readonly ProtoPort[],
  bastion: string): NatDecision | undefined {
  const nat = spa.nat;
  const asked = isNatType(messageType);
  if (!asked && !nat?.force) return undefined;
  if (!nat) return { refusal: 'NAT access is not enabled for this door' };
  const external = ports[0]!;
  if (nat.force) {
    if (nat.force.protocol !== external.protocol) {
      return {
        refusal: `${formatProtoPort(external)} cannot be forwarded to SPA_Force_NAT ${nat.force.address} ${formatProtoPort(nat.force)}`,
      };
    }
    return { nat: { kind: 'forward', external, address: nat.force.address, port: nat.force.port } };
  }
  const target = natAccess === null ? undefined : parseNatAccess(natAccess);
  if (!target) return { refusal: 'bad field (nat access)' }; // decodePlaintext checked it already
  const wanted = `${target.host} ${protoPortText(external.protocol, target.port)}`;
  if (kindOf(messageType)?.nat === 'forward') {
    if (nat.forward.length === 0) return { refusal: 'NAT access is not enabled for this door (no SPA_Forward)' };
    if (ipv4Number(target.host) === undefined) {
      return { refusal: `NAT destination "${target.host}" is not an IPv4 address (names are not resolved)` };
    }
    const allowed = nat.forward.some((d) =>
      d.protocol === external.protocol && d.port === target.port && inIpv4Network(target.host, d.network));
    if (!allowed) return { refusal: `NAT destination not allowed (${wanted})` };
    return { nat: { kind: 'forward', external, address: target.host, port: target.port } };
  }
  if (nat.local.length === 0) return { refusal: 'local NAT access is not enabled for this door (no SPA_Local_NAT)' };
  if (!nat.local.some((l) => l.protocol === external.protocol && l.port === target.port)) {
    return { refusal: `local NAT port not allowed (${protoPortText(external.protocol, target.port)})` };
  }
  return { nat: { kind: 'local', external, address: bastion, port: target.port } };
}

/**
 * Whether this door would make `nat` itself: a NAT grant another fleet node made is carried out
 * here only inside this node's own SPA_Forward / SPA_Local_NAT / SPA_Force_NAT.
 */
export function natAllowed(spa: SpaDoor, nat: NatGrant): boolean {
  const n = spa.nat;
  if (!n) return false;
  const { protocol } = nat.external;
  if (n.force) {
    return nat.kind === 'forward' && n.force.protocol === protocol && n.force.address === nat.address && n.force.port === nat.port;
  }
  if (nat.kind === 'local') return n.local.some((l) => l.protocol === protocol && l.port === nat.port);
  return n.forward.some((d) => d.protocol === protocol && d.port === nat.port && inIpv4Network(nat.address, d.network));
}
