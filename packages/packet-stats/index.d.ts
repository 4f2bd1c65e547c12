export interface PacketStats {
  /** Packets the socket received since the last read. */
  packets: number;
  /** Packets dropped since the last read because the ring (or buffer) was full. */
  drops: number;
}

/** Reads and resets the kernel's PACKET_STATISTICS of an AF_PACKET socket. */
export function readPacketStats(fd: number): PacketStats;

/** Runs `fn` (synchronous) with file descriptor 2 pointed at /dev/null. */
export function withQuietStderr<T>(fn: () => T): T;

/** Sets NETLINK_NO_ENOBUFS and (root) a receive buffer of `bytes` on a netlink socket. */
export function tuneNetlink(fd: number, bytes: number): void;
