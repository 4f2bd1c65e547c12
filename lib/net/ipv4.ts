// IPv4 addresses as numbers, for the CIDR checks of NAT destinations. Only dotted quads of four
// decimal octets without leading zeros are read (no octal or shortened forms that could alias).

const OCTET = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** `10.0.0.5` → 167772165; undefined for anything that is not a plain dotted quad. */
export function ipv4Number(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** An IPv4 network: its first address (host bits zero) and prefix length. */
export interface Ipv4Network {
  readonly address: string;
  readonly prefix: number;
}

/** `10.0.0.0/24` or `10.0.0.7` (a /32); undefined when malformed or host bits are set. */
export function parseIpv4Network(text: string): Ipv4Network | undefined {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return undefined;
  const n = ipv4Number(addr);
  if (n === undefined) return undefined;
  if (len === undefined) return { address: addr, prefix: 32 };
  if (!/^(3[0-2]|[12]?[0-9])$/.test(len)) return undefined;
  const prefix = Number(len);
  if (n % 2 ** (32 - prefix) !== 0) return undefined;
  return { address: addr, prefix };
}

export function inIpv4Network(address: string, net: Ipv4Network): boolean {
  const a = ipv4Number(address);
  const base = ipv4Number(net.address);
  if (a === undefined || base === undefined) return false;
  const size = 2 ** (32 - net.prefix);
  return a >= base && a < base + size;
}

export function formatIpv4Network(net: Ipv4Network): string {
  return net.prefix === 32 ? net.address : `${net.address}/${net.prefix}`;
}
