// Who sent an SPA request that came through HTTP proxies. X-Forwarded-For is believed only from a
// trusted proxy (SPA_HTTP_Trusted_Proxies), and only as far as trusted hops reach: the chain is
// walked right to left from the connecting peer, and the first address that is not a trusted proxy
// is the client (as nginx's real_ip_recursive). Anyone can write the header; only the hops we
// trust appended theirs. fwknopd believes a lone address from anyone and fails on a chain.

import { inNetwork, parseAddress, type Address, type Network } from '../config/cidr.js';

export type ClientAddress =
  | { readonly ok: true; readonly ip: string; readonly family: 4 | 6; readonly forwarded: boolean }
  | { readonly ok: false; readonly reason: string };

/** Most entries walked: a longer chain from a trusted proxy is refused. */
export const MAX_HOPS = 16;

/** Why an address cannot be a client's (some firewall front-ends read 0.0.0.0 or :: as "any"). */
function notAClient(a: Address): string | undefined {
  const b = a.bytes;
  if (a.family === 4) {
    if (b[0] === 0) return 'an unspecified address';
    if (b[0] === 127) return 'a loopback address';
    if (b[0]! >= 224) return b.every((x) => x === 255) ? 'the broadcast address' : 'a multicast or reserved address';
    if (b[0] === 169 && b[1] === 254) return 'a link-local address';
    return undefined;
  }
  if (b.every((x, i) => x === 0 || i === 15)) {
    return b[15] === 0 ? 'an unspecified address' : b[15] === 1 ? 'a loopback address' : undefined;
  }
  if (b[0] === 0xff) return 'a multicast address';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'a link-local address';
  return undefined;
}

const trustedBy = (a: Address, proxies: readonly Network[]) => proxies.some((n) => inNetwork(a, n));

/** The client of a request from `peer` carrying `entries` (X-Forwarded-For, in header order). */
export function clientAddress(peer: string, entries: readonly string[] | undefined, proxies: readonly Network[]): ClientAddress {
  const from = parseAddress(peer);
  if (!from) return { ok: false, reason: `not an address: ${peer}` };
  const self = { ok: true as const, ip: from.text, family: from.family, forwarded: false };
  if (entries === undefined || !trustedBy(from, proxies)) return self;
  if (entries.length > MAX_HOPS) return { ok: false, reason: `X-Forwarded-For longer than ${MAX_HOPS} hops` };
  let client = from;
  for (let i = entries.length - 1; i >= 0; i--) {
    const a = parseAddress(entries[i]!);
    // A trusted proxy vouches for this entry: one that is not an address means the chain cannot be read.
    if (!a) return { ok: false, reason: `X-Forwarded-For entry is not an address: ${JSON.stringify(entries[i]!.slice(0, 64))}` };
    client = a;
    if (!trustedBy(a, proxies)) break;
  }
  const odd = client !== from ? notAClient(client) : undefined;
  if (odd) return { ok: false, reason: `X-Forwarded-For names ${client.text}, ${odd}` };
  return { ok: true, ip: client.text, family: client.family, forwarded: client !== from };
}
