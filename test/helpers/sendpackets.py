#!/usr/bin/env python3
"""Send a list of packets in order, a few ms apart: sendpackets.py FILE, where FILE holds a JSON
array of [src, dst, proto, dport, flags, sport] (proto tcp|udp; flags like "S", "SA", "FA").
TCP segments go out on a raw socket (the kernel adds the IP header); nothing waits for replies."""
import json, socket, struct, sys, time

BITS = {'F': 1, 'S': 2, 'R': 4, 'P': 8, 'A': 16, 'U': 32}
GAP = 0.003

def tcp(src, dst, dport, flags, sport):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    f = sum(BITS[c] for c in flags)
    hdr = struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 5 << 4, f, 64240, 0, 0)
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((src, 0))
    s.sendto(hdr, (dst, 0))
    s.close()

def udp(src, dst, dport, sport):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.sendto(b'\0', (dst, dport))
    s.close()

for src, dst, proto, dport, flags, sport in json.load(open(sys.argv[1])):
    if proto == 'tcp':
        tcp(src, dst, dport, flags, sport)
    else:
        udp(src, dst, dport, sport)
    time.sleep(GAP)
