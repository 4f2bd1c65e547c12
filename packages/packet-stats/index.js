// packet-stats: the kernel's counters of an AF_PACKET socket (see src/addon.cc).
import { createRequire } from 'node:module';

const addon = createRequire(import.meta.url)('./build/Release/packet_stats.node');

/** Packets received and dropped (ring full) since the last read of this socket's counters. */
export function readPacketStats(fd) {
  return addon.read(fd);
}

/** Runs `fn` with file descriptor 2 pointed at /dev/null (a C library's warning we expect). */
export function withQuietStderr(fn) {
  const saved = addon.quietStderr();
  try { return fn(); } finally { addon.restoreStderr(saved); }
}

/** NETLINK_NO_ENOBUFS and a forced receive buffer of `bytes` on a netlink socket (see src/addon.cc). */
export function tuneNetlink(fd, bytes) {
  addon.tuneNetlink(fd, bytes);
}

/** The NFLOG instance of `group` (bound on libpcap's socket fd) flushes after `timeoutCs` and batches up to `bufferBytes` (see src/addon.cc). */
export function batchNflog(fd, group, timeoutCs, bufferBytes) {
  addon.batchNflog(fd, group, timeoutCs, bufferBytes);
}
