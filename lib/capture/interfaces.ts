// Whether a network interface exists in this namespace, from /proc/net/dev (every interface,
// with or without an address). /sys/class/net is not always there: a chroot may mount /proc only.

import { readFileSync } from 'node:fs';

/** Interface names in /proc/net/dev's text. Pure. */
export function devNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** True when `name` exists (or is `any`); true as well when /proc/net/dev cannot be read. */
export function interfacePresent(name: string): boolean {
  if (name === 'any') return true;
  try { return devNames(readFileSync('/proc/net/dev', 'utf8')).has(name); } catch { return true; }
}
