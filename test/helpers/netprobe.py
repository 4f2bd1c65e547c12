#!/usr/bin/env python3
"""Network probes for firewall tests (run inside a namespace with `ip netns exec`).

  netprobe.py serve PORT...          TCP and UDP echo servers on PORT (all addresses, v4 and v6)
  netprobe.py tcp HOST PORT [SRC]    exit 0 if a new TCP connection (from SRC, if given) opens and
                                     echoes, 1 if not
  netprobe.py udp HOST PORT          exit 0 if a datagram gets its echo back, 1 if not
  netprobe.py hold HOST PORT         connect, print "connected", then echo each stdin line over the
                                     connection and print the reply ("dead" if it stopped working)
"""
import socket, sys, threading

TIMEOUT = 1.0

def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET

def serve(ports):
    def tcp(port):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(('::', port)); s.listen(16)
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    def echo(c):
        try:
            while True:
                d = c.recv(4096)
                if not d: break
                c.sendall(d)
        finally:
            c.close()
    def udp(port):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(('::', port))
        while True:
            d, a = s.recvfrom(4096)
            s.sendto(d, a)
    for p in ports:
        threading.Thread(target=tcp, args=(p,), daemon=True).start()
        threading.Thread(target=udp, args=(p,), daemon=True).start()
    print('serving', flush=True)
    threading.Event().wait()

def tcp_probe(host, port, src=None):
    try:
        s = socket.create_connection((host, port), timeout=TIMEOUT, source_address=(src, 0) if src else None)
        s.sendall(b'ping'); ok = s.recv(4) == b'ping'; s.close()
        return 0 if ok else 1
    except OSError:
        return 1

def udp_probe(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM); s.settimeout(TIMEOUT)
    try:
        s.sendto(b'ping', (host, port))
        return 0 if s.recvfrom(16)[0] == b'ping' else 1
    except OSError:
        return 1

def hold(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    print('connected', flush=True)
    for line in sys.stdin:
        try:
            s.sendall(line.strip().encode()); print(s.recv(4096).decode() or 'dead', flush=True)
        except OSError:
            print('dead', flush=True)

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'serve': serve([int(p) for p in args])
    elif cmd == 'tcp': sys.exit(tcp_probe(args[0], int(args[1]), args[2] if len(args) > 2 else None))
    elif cmd == 'udp': sys.exit(udp_probe(args[0], int(args[1])))
    elif cmd == 'hold': hold(args[0], int(args[1]))
