#!/usr/bin/env python3
"""forge-segment.py SRC SPORT DST DPORT FLAGS SEQ PAYLOAD: one IPv4 TCP segment with any source
address (IP_HDRINCL), as an off-path attacker sends it; PAYLOAD may hold \\r\\n escapes."""
import os, socket, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawtcp import checksum  # noqa: E402

def main():
    src, sport, dst, dport, flags, seq = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
    payload = sys.argv[7].encode().decode('unicode_escape').encode('latin1')
    bits = {'F': 1, 'S': 2, 'R': 4, 'P': 8, 'A': 16, 'U': 32}
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, 5 << 4, sum(bits[c] for c in flags), 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack('!H', checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + tcp + payload, (dst, 0))

main()
