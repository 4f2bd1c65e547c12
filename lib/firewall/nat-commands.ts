// The NAT part of the grant table (SPA_Forward, SPA_Local_NAT, SPA_Force_NAT, SPA_SNAT), as nft
// text. Pure; every value is checked (validate.ts) before it is written into a command.
//
//   map fwd4   { client . proto . external port : internal address . port }   DNAT, prerouting
//   set fwdok4 { client . internal address . proto . port }                   forward accept
//   set masq4  { same key }  /  map snat4 { same key : source address }       SNAT, postrouting
//   map lnat4  { client . proto . external port : local port }                redirect, prerouting
//   set fwdguard4 { network . proto . port }  the SPA_Forward destinations: a new forwarded
//     connection to one of them is dropped unless it is a granted DNAT flow (fail closed even
//     when ip_forward is on and the admin's forward policy accepts).
// Every element has its own timeout: the kernel ends a grant; established flows live on through
// conntrack, new ones find no element. IPv4 only (fwknop's nat_access is an IPv4 destination).

import { formatIpv4Network, inIpv4Network, parseIpv4Network } from '../net/ipv4.js';
import type { ProtoPort } from '../net/protocol.js';
import { FirewallInputError, checkAddress, checkName, checkPort, checkProto, checkTimeout } from './validate.js';

export const FWD4 = 'fwd4';
export const FWDOK4 = 'fwdok4';
export const MASQ4 = 'masq4';
export const SNAT4 = 'snat4';
export const LNAT4 = 'lnat4';
export const FWDGUARD4 = 'fwdguard4';
/** The NAT chains and how many rules natInstallBatch puts in each (the watchdog counts them). */
export const NAT_CHAINS = { nat_pre: 2, nat_post: 2, forward: 3 } as const;

/** A destination SPA_Forward (or SPA_Force_NAT) lists: forwarded only for granted flows. */
export interface NatRoute extends ProtoPort {
  /** `10.0.0.0/24` or `10.0.0.7`. */
  readonly network: string;
}

/** Where a NAT grant leads: an internal address (forward) or a port of this host (local). */
export interface NatTarget {
  readonly kind: 'forward' | 'local';
  /** Internal IPv4 address (forward; for local, the bastion's, for %NAT_IP% and --status). */
  readonly address: string;
  readonly port: number;
  /** Forward: `masquerade`, an IPv4 source address, or undefined (no source rewrite). */
  readonly snat?: string;
}

export interface NatElement {
  readonly set: string;
  readonly key: string;
  /** Map data, for maps. */
  readonly data?: string;
  readonly timeout: number;
}

function ipv4(value: unknown): string {
  const a = checkAddress(value);
  if (a.family !== 4) throw new FirewallInputError(`NAT needs an IPv4 address: ${JSON.stringify(value)}`);
  return a.text;
}

function network(value: string): string {
  const n = parseIpv4Network(value);
  if (!n) throw new FirewallInputError(`not an IPv4 network: ${JSON.stringify(value)}`);
  return formatIpv4Network(n);
}

/**
 * The routes no other route covers: an interval set refuses overlapping elements ("File exists"),
 * and 10.0.0.5 . tcp . 3306 adds nothing to 10.0.0.0/24 . tcp . 3306.
 */
function uncovered(routes: readonly NatRoute[]): NatRoute[] {
  const nets = routes.map((r) => {
    const n = parseIpv4Network(r.network);
    if (!n) throw new FirewallInputError(`not an IPv4 network: ${JSON.stringify(r.network)}`);
    return n;
  });
  const covers = (i: number, j: number) => routes[i]!.protocol === routes[j]!.protocol && routes[i]!.port === routes[j]!.port
    && nets[i]!.prefix <= nets[j]!.prefix && inIpv4Network(nets[j]!.address, nets[i]!);
  // Of two equal routes the first stays.
  return routes.filter((_, j) => !routes.some((__, i) => i !== j && covers(i, j) && (nets[i]!.prefix < nets[j]!.prefix || i < j)));
}

/** Maps, sets and chains of NAT grants; re-running it keeps every element (restart, reload). */
export function natInstallBatch(table: string, routes: readonly NatRoute[]): string {
  const t = `inet ${checkName(table)}`;
  const flow = 'ip saddr . ip daddr . meta l4proto . th dport';
  const client = 'ip saddr . meta l4proto . th dport';
  const keys = [...new Set(uncovered(routes).map((r) => `${network(r.network)} . ${checkProto(r.protocol)} . ${checkPort(r.port)}`))];
  const lines = [
    `add map ${t} ${FWD4} { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }`,
    `add set ${t} ${FWDOK4} { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags timeout; }`,
    `add set ${t} ${MASQ4} { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags timeout; }`,
    `add map ${t} ${SNAT4} { type ipv4_addr . ipv4_addr . inet_proto . inet_service : ipv4_addr; flags timeout; }`,
    `add map ${t} ${LNAT4} { type ipv4_addr . inet_proto . inet_service : inet_service; flags timeout; }`,
    `add set ${t} ${FWDGUARD4} { type ipv4_addr . inet_proto . inet_service; flags interval; }`,
    `add chain ${t} nat_pre { type nat hook prerouting priority dstnat - 1; policy accept; }`,
    `add chain ${t} nat_post { type nat hook postrouting priority srcnat - 1; policy accept; }`,
    `add chain ${t} forward { type filter hook forward priority filter - 1; policy accept; }`,
    `flush chain ${t} nat_pre`,
    `flush chain ${t} nat_post`,
    `flush chain ${t} forward`,
    `flush set ${t} ${FWDGUARD4}`,
  ];
  if (keys.length > 0) lines.push(`add element ${t} ${FWDGUARD4} { ${keys.join(', ')} }`);
  lines.push(
    `add rule ${t} nat_pre meta nfproto ipv4 meta l4proto { tcp, udp } dnat ip to ${client} map @${FWD4}`,
    `add rule ${t} nat_pre meta nfproto ipv4 meta l4proto { tcp, udp } redirect to : ${client} map @${LNAT4}`,
    `add rule ${t} nat_post ct status dnat ${flow} @${MASQ4} masquerade`,
    `add rule ${t} nat_post ct status dnat snat ip to ${flow} map @${SNAT4}`,
    `add rule ${t} forward ct state established,related accept`,
    `add rule ${t} forward ct status dnat ${flow} @${FWDOK4} accept`,
    `add rule ${t} forward ip daddr . meta l4proto . th dport @${FWDGUARD4} drop`,
  );
  return lines.join('\n') + '\n';
}

/** The NAT elements of one grant of `client`'s `external` port to `to`, for `timeout` seconds. */
export function natElements(client: string, external: ProtoPort, to: NatTarget, timeout: number): NatElement[] {
  const c = ipv4(client);
  const proto = checkProto(external.protocol);
  const ext = checkPort(external.port);
  const port = checkPort(to.port);
  const seconds = checkTimeout(timeout);
  if (to.kind === 'local') {
    return [{ set: LNAT4, key: `${c} . ${proto} . ${ext}`, data: String(port), timeout: seconds }];
  }
  const inside = ipv4(to.address);
  const flow = `${c} . ${inside} . ${proto} . ${port}`;
  const out: NatElement[] = [
    { set: FWD4, key: `${c} . ${proto} . ${ext}`, data: `${inside} . ${port}`, timeout: seconds },
    { set: FWDOK4, key: flow, timeout: seconds },
  ];
  if (to.snat === 'masquerade') out.push({ set: MASQ4, key: flow, timeout: seconds });
  else if (to.snat !== undefined) out.push({ set: SNAT4, key: flow, data: ipv4(to.snat), timeout: seconds });
  return out;
}

/** One NAT grant as the kernel lists it (`--status`). */
export interface NatListed {
  readonly client: string;
  readonly external: ProtoPort;
  readonly kind: 'forward' | 'local';
  /** Internal address (forward) or undefined (local). */
  readonly address: string | undefined;
  readonly port: number;
  readonly timeout: number;
  readonly expires: number | undefined;
}

/** The grants in a `nft -j list map` of fwd4 or lnat4; elements of another shape are left out. */
export function parseNatListing(json: string): NatListed[] {
  const doc = JSON.parse(json) as { nftables?: unknown };
  if (!Array.isArray(doc.nftables)) throw new Error('nft listing: no "nftables" array');
  const out: NatListed[] = [];
  for (const item of doc.nftables as Array<Record<string, unknown>>) {
    const map = item?.['map'] as { name?: unknown; elem?: unknown } | undefined;
    if (!map || !Array.isArray(map.elem)) continue;
    const kind = map.name === LNAT4 ? 'local' : 'forward';
    for (const pair of map.elem as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) continue;
      const body = (pair[0] as { elem?: Record<string, unknown> })?.elem;
      const key = (body?.['val'] as { concat?: unknown } | undefined)?.concat;
      if (!body || !Array.isArray(key) || key.length !== 3) continue;
      const data = pair[1] as unknown;
      const target = kind === 'local' ? [undefined, data] : (data as { concat?: unknown })?.concat;
      if (!Array.isArray(target) || target.length !== 2) continue;
      try {
        const client = ipv4(key[0]);
        const protocol = checkProto(key[1]);
        const external = { protocol, port: checkPort(key[2]) };
        const address = kind === 'local' ? undefined : ipv4(target[0]);
        const port = checkPort(target[1]);
        const timeout = typeof body['timeout'] === 'number' ? body['timeout'] : 0;
        const expires = typeof body['expires'] === 'number' ? body['expires'] : undefined;
        out.push({ client, external, kind, address, port, timeout, expires });
      } catch { /* not ours */ }
    }
  }
  return out;
}
