/*
 * flood-gen: spoofed-source packets at a set rate, for bench/flood.mjs (run inside a namespace the
 * benchmark made; it refuses destinations outside 10.77.0.0/16 and fd77::/16).
 *
 *   flood-gen tcp DST PORT RATE SECONDS [LEN [SOURCES]]   TCP SYNs
 *   flood-gen udp DST PORT RATE SECONDS LEN [SOURCES]     UDP datagrams of LEN random base64 characters
 *
 * SOURCES (random, uniformly): `narrow` (default) 198.18.0.0/15 (131,072 addresses); `wide`
 * 100.64.0.0/10 (4,194,304) for an IPv4 DST; for an IPv6 DST always a random address in a random
 * /64 of 2001:db8::/32 (each packet a new source). RATE 0 = as fast as it goes. Packets are built with IP_HDRINCL and sent with sendmmsg() in
 * batches of 64 (Python could not reach these rates). Prints "sent N in S s = R pkt/s".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXLEN 1600

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint32_t rng = 0x5e5a1234;
static uint32_t next_rand(void) {
  rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
  return rng;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* The L4 header and payload at t (checksum over the pseudo-header sum `ps`); its length. */
static size_t build_l4(uint8_t *t, int udp, uint16_t port, size_t payload, uint32_t ps) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t l4 = udp ? 8 + payload : 20;
  memset(t, 0, l4);
  uint16_t sport = 1024 + next_rand() % 60000;
  t[0] = sport >> 8; t[1] = sport & 0xff; t[2] = port >> 8; t[3] = port & 0xff;
  if (udp) {
    t[4] = l4 >> 8; t[5] = l4 & 0xff;
    for (size_t i = 0; i < payload; i++) t[8 + i] = b64[next_rand() & 63];
  } else {
    uint32_t seq = next_rand();
    memcpy(t + 4, &seq, 4);
    t[12] = 5 << 4; t[13] = 0x02; t[14] = 0xfa; t[15] = 0xf0;
  }
  uint16_t c = csum(t, l4, ps + (uint32_t)(udp ? 17 : 6) + (uint32_t)l4);
  t[udp ? 6 : 16] = c >> 8; t[udp ? 7 : 17] = c & 0xff;
  return l4;
}

static uint32_t sum16(const uint8_t *p, size_t len) {
  uint32_t s = 0;
  for (size_t i = 0; i < len; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  return s;
}

static size_t build4(uint8_t *b, int udp, int wide, uint32_t dst, uint16_t port, size_t payload) {
  uint32_t src = htonl(wide ? 0x64400000u | (next_rand() & 0x3fffff)   /* 100.64.0.0/10 */
                            : 0xc6120000u | (next_rand() & 0x1ffff));  /* 198.18.0.0/15 */
  b[0] = 0x45; b[1] = 0; b[4] = b[5] = b[6] = b[7] = 0; b[10] = b[11] = 0;
  b[8] = 64; b[9] = udp ? 17 : 6;
  memcpy(b + 12, &src, 4); memcpy(b + 16, &dst, 4);
  size_t total = 20 + build_l4(b + 20, udp, port, payload, sum16(b + 12, 8));
  b[2] = total >> 8; b[3] = total & 0xff;
  return total;
}

static size_t build6(uint8_t *b, int udp, const struct in6_addr *dst, uint16_t port, size_t payload) {
  memset(b, 0, 40);
  b[0] = 0x60; b[6] = udp ? 17 : 6; b[7] = 64;
  b[8] = 0x20; b[9] = 0x01; b[10] = 0x0d; b[11] = 0xb8; /* 2001:db8::/32, then a random /64 and host */
  for (int i = 12; i < 24; i += 4) { uint32_t r = next_rand(); memcpy(b + i, &r, 4); }
  memcpy(b + 24, dst, 16);
  size_t l4 = build_l4(b + 40, udp, port, payload, sum16(b + 8, 32));
  b[4] = l4 >> 8; b[5] = l4 & 0xff;
  return 40 + l4;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: flood-gen tcp|udp DST PORT RATE SECONDS [LEN [narrow|wide]]\n"); return 2; }
  int udp = strcmp(argv[1], "udp") == 0;
  int wide = argc > 7 && strcmp(argv[7], "wide") == 0;
  struct in_addr dst = { 0 };
  struct in6_addr dst6;
  int v6 = inet_pton(AF_INET6, argv[2], &dst6) == 1;
  if (v6 ? (dst6.s6_addr[0] != 0xfd || dst6.s6_addr[1] != 0x77)
         : (inet_pton(AF_INET, argv[2], &dst) != 1 || (ntohl(dst.s_addr) >> 16) != 0x0a4d)) {
    fprintf(stderr, "flood-gen: destination must be in 10.77.0.0/16 or fd77::/16\n");
    return 2;
  }
  uint16_t port = (uint16_t)atoi(argv[3]);
  double rate = atof(argv[4]), seconds = atof(argv[5]);
  size_t payload = argc > 6 ? (size_t)atoi(argv[6]) : 200;
  if (payload > MAXLEN - 48) payload = MAXLEN - 48;
  if (seconds <= 0 || seconds > 600) { fprintf(stderr, "flood-gen: 0 < SECONDS <= 600\n"); return 2; }

  /* IPPROTO_RAW: the packet carries its own IP header (IPv6 too, Linux >= 4.5). */
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) { perror("socket"); return 1; }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  static uint8_t bufs[BATCH][MAXLEN];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
  struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = dst6 };
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = v6 ? (void *)&to6 : (void *)&to;
    msgs[i].msg_hdr.msg_namelen = v6 ? sizeof to6 : sizeof to;
  }

  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
  unsigned long long sent = 0;
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end) break;
    if (rate > 0) {
      double due = (double)(t - start) / 1e9 * rate;
      if ((double)sent >= due) { usleep(200); continue; }
    }
    for (int i = 0; i < BATCH; i++)
      iov[i].iov_len = v6 ? build6(bufs[i], udp, &dst6, port, payload) : build4(bufs[i], udp, wide, dst.s_addr, port, payload);
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0) sent += (unsigned long long)n;
  }
  double took = (double)(now_ns() - start) / 1e9;
  printf("sent %llu in %.1f s = %.0f pkt/s\n", sent, took, (double)sent / took);
  return 0;
}
