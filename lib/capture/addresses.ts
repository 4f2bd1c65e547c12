// This host's addresses on the capture interfaces, in canonical text. knockd reads them once at
// start; Sesame polls, so an address added later (DHCP, a VPN coming up) is watched too.

import { networkInterfaces } from 'node:os';
import { canonicalAddress } from '../config/address.js';

export function localAddresses(ifaces: readonly string[], onlyIPv4: boolean): string[] {
  const all = networkInterfaces();
  const names = ifaces.includes('any') ? Object.keys(all) : ifaces;
  const out = new Set<string>();
  for (const name of names) {
    for (const a of all[name] ?? []) {
      if (onlyIPv4 && a.family === 'IPv6') continue;
      const c = canonicalAddress(a.address.split('%')[0]!);
      if (c) out.add(c);
    }
  }
  return [...out];
}

/** Calls `changed` whenever the address list differs from the last one seen. */
export interface AddressWatch {
  /** Re-reads now (an interface came back): its addresses need not wait for the next poll. */
  check(): void;
  stop(): void;
}

export function watchAddresses(ifaces: readonly string[], onlyIPv4: boolean, changed: (addrs: string[]) => void,
  everyMs = 500): AddressWatch {
  let last = localAddresses(ifaces, onlyIPv4).sort().join(',');
  const check = () => {
    const now = localAddresses(ifaces, onlyIPv4);
    const key = [...now].sort().join(',');
    if (key !== last) { last = key; changed(now); }
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
