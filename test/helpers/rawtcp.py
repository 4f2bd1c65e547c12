#!/usr/bin/env python3
"""Send one TCP segment with chosen flags (e.g. S, SA, A, FA, R) from SRC to DST:PORT over IPv4.
The kernel builds the IP header; we build the TCP header and its checksum."""
import socket, struct, sys, random

def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def main():
    src, dst, port, flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    bits = {'F': 1, 'S': 2, 'R': 4, 'P': 8, 'A': 16, 'U': 32}
    f = sum(bits[c] for c in flags)
    sport = random.randint(20000, 60000)
    hdr = struct.pack('!HHIIBBHHH', sport, port, random.getrandbits(32), 0, 5 << 4, f, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(hdr))
    hdr = hdr[:16] + struct.pack('!H', checksum(pseudo + hdr)) + hdr[18:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((src, 0))
    s.sendto(hdr, (dst, 0))

if __name__ == '__main__':
    main()
