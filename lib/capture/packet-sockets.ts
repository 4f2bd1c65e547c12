// The AF_PACKET sockets this process holds (libpcap's capture sockets), found through /proc:
// a descriptor links to `socket:[INODE]`, and /proc/net/packet lists the inodes of packet
// sockets in our network namespace. `cap` does not hand out its descriptor.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Inodes in /proc/net/packet's text (its last column). Pure. */
export function packetInodes(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const inode = cols[cols.length - 1];
    if (cols.length >= 9 && inode !== undefined && /^\d+$/.test(inode)) out.add(inode);
  }
  return out;
}

export function packetSocketFds(): number[] {
  let inodes: Set<string>;
  try { inodes = packetInodes(readFileSync('/proc/net/packet', 'utf8')); } catch { return []; }
  const fds: number[] = [];
  let entries: string[];
  try { entries = readdirSync('/proc/self/fd'); } catch { return []; }
  for (const e of entries) {
    let target: string;
    try { target = readlinkSync(`/proc/self/fd/${e}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) fds.push(Number(e));
  }
  return fds;
}
