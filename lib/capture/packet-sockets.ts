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

/** Inodes of NETLINK_NETFILTER sockets (protocol 12) in /proc/net/netlink's text, with their drop counts. Pure. */
export function netfilterInodes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (cols.length >= 10 && cols[1] === '12' && /^\d+$/.test(cols[9]!)) out.set(cols[9]!, Number(cols[8]));
  }
  return out;
}

export function packetSocketFds(): number[] {
  let inodes: Set<string>;
  try { inodes = packetInodes(readFileSync('/proc/net/packet', 'utf8')); } catch { return []; }
  return fdsOf(inodes);
}

/** This process's NETLINK_NETFILTER sockets (libpcap's NFLOG socket among them), fd → inode. */
export function netfilterSocketFds(): Map<number, string> {
  let inodes: Map<string, number>;
  try { inodes = netfilterInodes(readFileSync('/proc/net/netlink', 'utf8')); } catch { return new Map(); }
  const out = new Map<number, string>();
  for (const fd of fdsOf(new Set(inodes.keys()))) out.set(fd, inodeOf(fd)!);
  return out;
}

/** Drops the kernel counted on a netlink socket (its receive buffer was full). */
export function netlinkDrops(inode: string): number | undefined {
  try { return netfilterInodes(readFileSync('/proc/net/netlink', 'utf8')).get(inode); } catch { return undefined; }
}

function inodeOf(fd: number): string | undefined {
  try { return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]; } catch { return undefined; }
}

function fdsOf(inodes: Set<string>): number[] {
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
