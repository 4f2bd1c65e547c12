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

/**
 * Configures the NFLOG instance of `group`, bound on netlink socket `fd` (libpcap's): queued
 * messages are flushed after `timeoutCs` hundredths of a second, and up to `bufferBytes` of them
 * travel in one netlink message. Reads the kernel's acknowledgement; throws what it refused.
 */
export function batchNflog(fd: number, group: number, timeoutCs: number, bufferBytes: number): void;
