// Frame decoding: every link type and IP version, extension headers, and total robustness.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { decodeFrame, isPacket, type LinkType } from '../../lib/capture/decode.js';

const v4 = (proto: number, l4: number[], o: { frag?: number; ihl?: number } = {}) => {
  const ihl = o.ihl ?? 5;
  const h = [0x40 | ihl, 0, 0, 0, 0, 0, (o.frag ?? 0) >> 8, (o.frag ?? 0) & 0xff, 64, proto, 0, 0, 10, 77, 0, 2, 10, 77, 0, 1];
  while (h.length < ihl * 4) h.push(1);
  return [...h, ...l4];
};
const v6 = (next: number, rest: number[]) => [
  0x60, 0, 0, 0, 0, rest.length, next, 64,
  0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
  0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  ...rest,
];
const tcpHdr = (dport: number, flags: number) => [0x9c, 0x40, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];
const udpHdr = (dport: number) => [0x9c, 0x40, dport >> 8, dport & 0xff, 0, 9, 0, 0, 0];
const eth = (type: number, payload: number[]) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, type >> 8, type & 0xff, ...payload];
const sll = (type: number, payload: number[]) => [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, type >> 8, type & 0xff, ...payload];
const dec = (link: LinkType, bytes: number[]) => decodeFrame(link, Buffer.from(bytes), bytes.length);

t.test('Ethernet IPv4 TCP SYN', async (t) => {
  t.same(dec('ethernet', eth(0x0800, v4(6, tcpHdr(7000, 0x02)))), { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'tcp', dport: 7000, tcpFlags: 0x02 });
});

t.test('IPv4 options are skipped by the header length', async (t) => {
  t.same(dec('ethernet', eth(0x0800, v4(17, udpHdr(53), { ihl: 7 }))), { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'udp', dport: 53, tcpFlags: 0 });
});

t.test('Linux cooked (-i any) and raw links', async (t) => {
  t.match(dec('sll', sll(0x0800, v4(17, udpHdr(2222)))), { protocol: 'udp', dport: 2222 });
  t.match(dec('raw', v4(6, tcpHdr(9000, 0x12))), { protocol: 'tcp', dport: 9000, tcpFlags: 0x12 });
  t.match(dec('sll', sll(0x86dd, v6(6, tcpHdr(7000, 2)))), { src: 'fd77::2', dst: 'fd77::1', family: 6 }, 'IPv6 on SLL works (knockd 0.8: unsupported)');
  t.match(dec('raw', v6(17, udpHdr(1))), { family: 6, protocol: 'udp', dport: 1 });
});

t.test('IPv6 addresses are RFC 5952 text', async (t) => {
  t.match(dec('ethernet', eth(0x86dd, v6(6, tcpHdr(7000, 2)))), { src: 'fd77::2', dst: 'fd77::1' });
});

t.test('IPv6 extension headers are walked', async (t) => {
  const hop = [6, 0, 0, 0, 0, 0, 0, 0];          // hop-by-hop, next = TCP, 8 bytes
  const dstopts = [17, 1, ...Array(14).fill(0)]; // destination options, next = UDP, 16 bytes
  t.match(dec('ethernet', eth(0x86dd, v6(0, [...hop, ...tcpHdr(8000, 2)]))), { protocol: 'tcp', dport: 8000 });
  t.match(dec('ethernet', eth(0x86dd, v6(60, [...dstopts, ...udpHdr(4444)]))), { protocol: 'udp', dport: 4444 });
  const firstFrag = [6, 0, 0, 0, 0, 0, 0, 1];
  t.match(dec('ethernet', eth(0x86dd, v6(44, [...firstFrag, ...tcpHdr(7000, 2)]))), { dport: 7000 }, 'first fragment decodes');
  t.equal(dec('ethernet', eth(0x86dd, v6(44, [6, 0, 0, 8, 0, 0, 0, 1, ...tcpHdr(7000, 2)]))), 'fragment');
  t.equal(dec('ethernet', eth(0x86dd, v6(58, [128, 0, 0, 0]))), 'other-proto', 'ICMPv6');
  const loop = Array.from({ length: 12 }, () => [0, 0, 0, 0, 0, 0, 0, 0]).flat();
  t.equal(dec('ethernet', eth(0x86dd, v6(0, loop))), 'other-proto', 'too many extension headers');
});

t.test('drops: not IP, ICMP, later fragments, bad versions', async (t) => {
  t.equal(dec('ethernet', eth(0x0806, Array(28).fill(0))), 'not-ip', 'ARP');
  t.equal(dec('ethernet', eth(0x8100, [0, 1, 8, 0, ...v4(6, tcpHdr(7000, 2))])), 'not-ip', 'VLAN-tagged (as knockd)');
  t.equal(dec('ethernet', eth(0x0800, v4(1, [8, 0, 0, 0]))), 'other-proto', 'ICMP');
  t.equal(dec('ethernet', eth(0x0800, v4(6, tcpHdr(7000, 2), { frag: 0x0010 }))), 'fragment');
  t.match(dec('ethernet', eth(0x0800, v4(6, tcpHdr(7000, 2), { frag: 0x2000 }))), { dport: 7000 }, 'more-fragments bit on the first fragment is fine');
  t.equal(dec('ethernet', eth(0x0800, [0x45 & 0x0f | 0x60, ...v4(6, tcpHdr(1, 2)).slice(1)])), 'bad-ip', 'version 6 in an IPv4 frame');
  t.equal(dec('ethernet', eth(0x0800, [0x43, ...v4(6, tcpHdr(1, 2)).slice(1)])), 'bad-ip', 'IHL < 5');
});

t.test('every truncation of valid frames is refused, never thrown', async (t) => {
  const frames: [LinkType, number[]][] = [
    ['ethernet', eth(0x0800, v4(6, tcpHdr(7000, 2)))],
    ['ethernet', eth(0x0800, v4(17, udpHdr(7000)))],
    ['ethernet', eth(0x86dd, v6(0, [6, 0, 0, 0, 0, 0, 0, 0, ...tcpHdr(8000, 2)]))],
    ['sll', sll(0x86dd, v6(44, [17, 0, 0, 0, 0, 0, 0, 1, ...udpHdr(1)]))],
    ['raw', v4(6, tcpHdr(1, 2))],
  ];
  let checked = 0;
  for (const [link, bytes] of frames) {
    const full = dec(link, bytes);
    t.ok(isPacket(full), `${link} frame decodes whole`);
    // The capture length may be shorter than the buffer (cap reuses one big buffer).
    const big = Buffer.alloc(2048, 0xee);
    Buffer.from(bytes).copy(big);
    const need = minLen(link, bytes);
    for (let n = 0; n < need; n++) {
      const r = decodeFrame(link, big, n);
      if (r !== 'truncated') { t.fail(`${link} cut at ${n}: ${JSON.stringify(r)}`); return; }
      checked++;
    }
  }
  t.ok(checked > 100, `${checked} truncations refused`);
});

// Length of the frame up to the last byte the decoder needs (TCP flags / UDP port).
function minLen(link: LinkType, bytes: number[]): number {
  for (let n = 0; n <= bytes.length; n++) if (isPacket(decodeFrame(link, Buffer.from(bytes), n))) return n;
  return bytes.length;
}

t.test('fuzz: 200,000 random and mutated frames never throw', async (t) => {
  const seeds = [eth(0x0800, v4(6, tcpHdr(7000, 2))), eth(0x86dd, v6(0, [6, 0, 0, 0, 0, 0, 0, 0, ...tcpHdr(1, 2)])), sll(0x0800, v4(17, udpHdr(5))),
    eth(0x0800, v4(6, [...tcpHdr(80, 0x18), ...Array.from(Buffer.from('GET /x HTTP/1.1\r\nUser-Agent: Fwknop\r\n\r\n'))])),
    eth(0x86dd, v6(6, [...tcpHdr(80, 0x18), ...Array.from(Buffer.from('Host: h\r\n'))]))];
  const links: LinkType[] = ['ethernet', 'sll', 'raw'];
  let packets = 0, carried = 0;
  for (let i = 0; i < 200_000; i++) {
    let buf: Buffer;
    if (i % 2) buf = randomBytes(i % 97);
    else {
      buf = Buffer.from(seeds[i % seeds.length]!);
      const flips = 1 + (i % 5);
      for (let f = 0; f < flips; f++) { const at = (i * 7919 + f * 104729) % buf.length; buf[at] = buf[at]! ^ (1 << (f % 8)); }
    }
    const r = decodeFrame(links[i % 3]!, buf, buf.length);
    if (isPacket(r)) {
      packets++;
      if (r.dport < 0 || r.dport > 65535 || (r.protocol !== 'tcp' && r.protocol !== 'udp')) { t.fail(`bad packet ${JSON.stringify(r)}`); return; }
      const p = r.payload;
      const badData = r.protocol === 'tcp'
        ? (p === undefined) !== (r.sport === undefined) || (p === undefined) !== (r.seq === undefined)
          || (r.seq !== undefined && !(Number.isInteger(r.seq) && r.seq >= 0 && r.seq <= 0xffffffff))
          || (p !== undefined && (p.length < 1 || p.length > 1500 || (/^get \//i.test(p) && p.length < 140)))
        : r.sport !== undefined || r.seq !== undefined || (p !== undefined && (p.length < 140 || p.length > 1500));
      if (badData || (p !== undefined && p.length > buf.length)) { t.fail(`bad data ${JSON.stringify({ i, r })}`); return; }
      if (p !== undefined) carried++;
    }
  }
  t.ok(packets > 0, `${packets} mutated frames still decoded`);
  t.ok(carried > 0, `${carried} of them with data`);
});

t.test('an IPv4-mapped IPv6 source is dropped, not granted as IPv4 (reliability 10)', async (t) => {
  const mapped = (src: number[]) => {
    const b = v6(6, tcpHdr(7000, 2));
    b.splice(8, 16, ...src);
    return b;
  };
  t.equal(dec('ethernet', eth(0x86dd, mapped([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 99, 0, 6]))), 'mapped-src');
  t.equal(dec('raw', mapped([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])), 'mapped-src');
  t.match(dec('raw', mapped([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 99, 0, 6])), { family: 6, src: '::a63:6' }, 'IPv4-compatible (deprecated) is not mapped');
  t.match(dec('raw', mapped([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 10, 99, 0, 6])), { family: 6 }, 'one bit off is a plain IPv6 source');
  t.match(dec('raw', mapped([0x20, 0x01, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 99, 0, 6])), { family: 6 });
});

// SPA over HTTP: TCP segments carry their data and source port when they hold 1..1500 bytes, except
// a segment that starts "GET /" (the method in any case) with fewer than 140 bytes: a request's first
// segment is whole when it could be an SPA request, and later pieces are joined by flow.
const withTotal = (ip: number[]) => { const b = [...ip]; b[2] = ip.length >> 8; b[3] = ip.length & 0xff; return b; };
const tcpOpts = (dport: number, optionWords: number) =>
  [0x9c, 0x40, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, (5 + optionWords) << 4, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    ...Array.from({ length: optionWords * 4 }, (_, i) => (i % 4 === 3 ? 0 : 1))];
/** v6() with a two-byte payload length (its helper writes one byte). */
const v6l = (next: number, rest: number[]) => { const b = v6(next, rest); b[4] = rest.length >> 8; b[5] = rest.length & 0xff; return b; };
const bytesOf = (s: string) => [...Buffer.from(s, 'latin1')];
const getReq = (n: number, method = 'GET') => { const head = `${method} /`; return head + 'A'.repeat(n - head.length); };
/** A TCP header with a chosen source port. */
const tcpFrom = (sport: number, dport: number, flags: number) => { const h = tcpHdr(dport, flags); h[0] = sport >> 8; h[1] = sport & 0xff; return h; };
const dataOf = (r: ReturnType<typeof dec>) => (isPacket(r) ? { payload: r.payload, sport: r.sport } : r);

t.test('TCP: a "GET /" payload of 140..1500 bytes is carried (IPv4, IPv6, TCP options)', async (t) => {
  const req = getReq(300);
  t.same(dec('ethernet', eth(0x0800, withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(req)])))),
    { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'tcp', dport: 80, tcpFlags: 0x18, payload: req, sport: 40000, seq: 1 });
  t.match(dec('raw', v4(6, [...tcpOpts(80, 3), ...bytesOf(req)])), { payload: req, dport: 80 }, 'after 12 bytes of options (total length 0)');
  t.match(dec('ethernet', eth(0x86dd, v6l(6, [...tcpHdr(80, 0x18), ...bytesOf(req)]))), { family: 6, src: 'fd77::2', payload: req });
  t.match(dec('sll', sll(0x86dd, v6l(0, [6, 0, 0, 0, 0, 0, 0, 0, ...tcpOpts(8080, 10), ...bytesOf(req)]))), { family: 6, dport: 8080, payload: req },
    'IPv6 extension header and 40 bytes of options');
  for (const m of ['get', 'Get', 'gET']) t.match(dec('raw', v4(6, [...tcpHdr(80, 0x18), ...bytesOf(getReq(200, m))])), { payload: getReq(200, m) }, m);
  const high = `GET /${'\xe9\xff\x00'.repeat(60)}`;
  t.equal((dec('raw', v4(6, [...tcpHdr(80, 0x18), ...bytesOf(high)])) as { payload?: string }).payload, high, 'latin1: every byte kept');
});

t.test('TCP: the source port travels with the data (the flow it is joined by)', async (t) => {
  const req = getReq(200);
  for (const sport of [0, 1, 1024, 40000, 0x8001, 65535]) {
    t.same(dataOf(dec('raw', withTotal(v4(6, [...tcpFrom(sport, 80, 0x18), ...bytesOf(req)])))), { payload: req, sport }, `IPv4 ${sport}`);
    t.same(dataOf(dec('raw', v6l(6, [...tcpFrom(sport, 80, 0x18), ...bytesOf('\r\n')]))), { payload: '\r\n', sport }, `IPv6 ${sport}`);
  }
  t.same(dataOf(dec('raw', withTotal(v4(6, tcpFrom(51000, 80, 0x10))))), { payload: undefined, sport: undefined }, 'no data, no source port');
});

t.test('TCP: the sequence number travels with the data, unsigned 32-bit (pieces are joined only if they follow on)', async (t) => {
  /** A TCP header with a chosen sequence number. */
  const tcpSeq = (seq: number, flags = 0x18) => {
    const h = tcpHdr(80, flags);
    h.splice(4, 4, (seq >>> 24) & 0xff, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff);
    return h;
  };
  const seqOf = (r: ReturnType<typeof dec>) => (isPacket(r) ? { payload: r.payload, sport: r.sport, seq: r.seq } : r);
  const req = getReq(200);
  for (const seq of [0, 1, 0x100, 0x12345678, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff]) {
    t.same(seqOf(dec('raw', withTotal(v4(6, [...tcpSeq(seq), ...bytesOf(req)])))), { payload: req, sport: 40000, seq }, `IPv4 GET ${seq}`);
    t.same(seqOf(dec('raw', v6l(6, [...tcpSeq(seq), ...bytesOf('Host: h\r\n')]))), { payload: 'Host: h\r\n', sport: 40000, seq }, `IPv6 piece ${seq}`);
  }
  // The bytes are read as the sequence number, not the acknowledgement number or the ports.
  const h = tcpSeq(0x01020304);
  h.splice(8, 4, 0xaa, 0xbb, 0xcc, 0xdd);
  t.equal((dec('raw', withTotal(v4(6, [...h, ...bytesOf('x')]))) as { seq?: number }).seq, 0x01020304, 'the ack number is not read');
  t.equal((dec('sll', sll(0x86dd, v6l(0, [6, 0, 0, 0, 0, 0, 0, 0, ...tcpOpts(8080, 10).map((b, i) => (i >= 4 && i < 8 ? 0xf0 + i : b)), ...bytesOf(req)]))) as { seq?: number }).seq,
    0xf4f5f6f7, 'after an extension header, with options');
  const none = dec('raw', withTotal(v4(6, tcpSeq(0xdeadbeef, 0x10))));
  t.ok(isPacket(none) && !('seq' in none), 'no data, no sequence number');
  const short = dec('raw', withTotal(v4(6, [...tcpSeq(7), ...bytesOf('GET /x')])));
  t.ok(isPacket(short) && !('seq' in short), 'a short "GET /" carries no data, so no sequence number');
});

t.test('TCP: any other segment of 1..1500 bytes is carried (a later piece of a request, or anything else)', async (t) => {
  const seg = (p: string, sport = 40000) => dataOf(dec('raw', withTotal(v4(6, [...tcpFrom(sport, 80, 0x18), ...bytesOf(p)]))));
  for (const p of [getReq(300, 'POST'), getReq(300, 'GETX'), getReq(300, 'HEAD'), `GET http://x/${'A'.repeat(300)}`, ` GET /${'A'.repeat(300)}`,
    `G\xc5T /${'A'.repeat(300)}`, `GET\x00/${'A'.repeat(300)}`, `GET\t/${'A'.repeat(300)}`, 'A'.repeat(300)]) {
    t.same(seg(p), { payload: p, sport: 40000 }, `carried: ${JSON.stringify(p.slice(0, 8))}`);
  }
  // tinyproxy sends a request as its request line, then each header, then the blank line: the
  // first piece is a short "GET /" (not carried), every later one is.
  const pieces = ['User-Agent: Fwknop/2.6.10\r\n', 'Accept: */*\r\n', 'Host: 192.0.2.1\r\n', 'Connection: close\r\n', '\r\n'];
  for (const p of pieces) t.same(seg(p, 51234), { payload: p, sport: 51234 }, `piece ${JSON.stringify(p)}`);
  for (const p of ['x', '\n', '\x00', 'GET', 'GET ', 'get', 'GET\r\n', 'POST /x HTTP/1.1\r\n', ' GET /x', 'GET\x00/x', 'GET /'.slice(0, 4)]) {
    t.same(seg(p), { payload: p, sport: 40000 }, `short, not "GET /": ${JSON.stringify(p)}`);
  }
  // Bytes that only differ from " /" in bit 5 are not "GET /" (the method alone is case-insensitive).
  t.same(seg(`GET\x00\x0fAAAA`), { payload: 'GET\x00\x0fAAAA', sport: 40000 }, 'the space and slash are compared exactly');
  const syn = dec('raw', v4(6, tcpHdr(80, 0x02)));
  t.same(syn, { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'tcp', dport: 80, tcpFlags: 0x02 }, 'a SYN has no payload key');
  const ack = dec('raw', withTotal(v4(6, tcpHdr(80, 0x10))));
  t.notOk(isPacket(ack) && ('payload' in ack || 'sport' in ack || 'seq' in ack), 'an ACK without data has none of the keys');
});

t.test('TCP: a short "GET /" segment is not carried (a request line alone; SPA needs 140 bytes)', async (t) => {
  const seg = (p: string) => dataOf(dec('raw', withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(p)]))));
  for (const p of ['GET /', 'get /', 'GeT /x', `GET /${'A'.repeat(60)} HTTP/1.1\r\n`, getReq(139), getReq(139, 'get')]) {
    t.same(seg(p), { payload: undefined, sport: undefined }, `${p.length} bytes: ${JSON.stringify(p.slice(0, 10))}`);
  }
  t.same(seg(getReq(140)), { payload: getReq(140), sport: 40000 }, '140 bytes: carried');
});

t.test('TCP: a bad data offset carries nothing', async (t) => {
  const withOffset = (words: number, p: string) => { const h = tcpHdr(80, 0x18); h[12] = words << 4; return withTotal(v4(6, [...h, ...bytesOf(p)])); };
  for (const words of [0, 1, 4]) {
    const r = dec('raw', withOffset(words, getReq(200)));
    t.ok(isPacket(r) && r.payload === undefined && r.sport === undefined, `data offset ${words} words`);
  }
  const past = dec('raw', withOffset(15, 'short piece'));
  t.ok(isPacket(past) && past.payload === undefined, 'a data offset past the end of the segment');
  t.same(dataOf(dec('raw', withOffset(6, `opts${'x'.repeat(20)}`))), { payload: 'x'.repeat(20), sport: 40000 }, '4 bytes of options skipped');
});

t.test('TCP: the size bounds, 140 and 1500 bytes', async (t) => {
  const carried = (n: number, link: 'raw' | 'v6' = 'raw') => {
    const seg = [...tcpHdr(80, 0x18), ...bytesOf(getReq(n))];
    const r = link === 'raw' ? dec('raw', withTotal(v4(6, seg))) : dec('raw', v6l(6, seg));
    return isPacket(r) && r.payload !== undefined ? r.payload.length : 0;
  };
  for (const link of ['raw', 'v6'] as const) {
    t.equal(carried(139, link), 0, `${link} 139`);
    t.equal(carried(140, link), 140, `${link} 140`);
    t.equal(carried(1500, link), 1500, `${link} 1500`);
    t.equal(carried(1501, link), 0, `${link} 1501`);
  }
  t.equal(carried(5), 0, '"GET /" alone');
  const piece = (n: number) => {
    const r = dec('raw', withTotal(v4(6, [...tcpHdr(80, 0x18), ...Array(n).fill(0x41)])));
    return isPacket(r) && r.payload !== undefined ? r.payload.length : 0;
  };
  t.equal(piece(0), 0, 'a piece of 0 bytes');
  t.equal(piece(1), 1, 'a piece of 1 byte');
  t.equal(piece(1500), 1500, 'a piece of 1500 bytes');
  t.equal(piece(1501), 0, 'a piece of 1501 bytes');
});

t.test('IP total length bounds the packet: Ethernet padding is no part of the payload; 0 is tolerated', async (t) => {
  const req = getReq(150);
  const padded = [...withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(req)])), ...Array(40).fill(0)];
  t.match(dec('ethernet', eth(0x0800, padded)), { payload: req }, 'padding cut off');
  // A UDP length that claims the padding too (8 + 180): the IP total length still ends it.
  const udpPadded = [...withTotal(v4(17, [0x9c, 0x40, 0xf2, 0xf9, 0, 188, 0, 0, ...Array(150).fill(0x41)])), ...Array(30).fill(0x42)];
  const u = dec('ethernet', eth(0x0800, udpPadded));
  t.equal(isPacket(u) && u.payload, 'A'.repeat(150), 'UDP too');
  const zero = v4(6, [...tcpHdr(80, 0x18), ...bytesOf(req)]); // bytes 2-3 are 0 (an offload's)
  t.match(dec('raw', zero), { payload: req }, 'total length 0: the captured length stands');
  const cut = withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(req)]));
  const short = [...cut];
  short[2] = 0; short[3] = 20 + 20 + 139;
  const s = dec('raw', short);
  t.ok(isPacket(s) && s.payload === undefined, 'a total length that leaves 139 bytes: not carried');
  const over = [...cut];
  over[2] = 0x10; over[3] = 0;
  t.match(dec('raw', over), { payload: req }, 'a total length past the capture: the capture stands');
  const tiny = [...cut];
  tiny[3] = 10;
  t.match(dec('raw', tiny), { payload: req }, 'a total length under 20 is ignored');
  const v6padded = [...v6l(6, [...tcpHdr(80, 0x18), ...bytesOf(req)]), ...Array(20).fill(0x41)];
  t.match(dec('raw', v6padded), { payload: req }, 'IPv6 payload length bounds it too');
  // A short piece whose padding happens to continue it into "GET /": the padding is not read.
  for (const piece of ['G', 'GE', 'GET', 'GET ']) {
    const frame = [...withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(piece)])), ...bytesOf('GET /'.slice(piece.length)), ...Array(30).fill(0x41)];
    t.same(dataOf(dec('ethernet', eth(0x0800, frame))), { payload: piece, sport: 40000 }, `${JSON.stringify(piece)} then padding`);
    const big = Buffer.alloc(200, 0);
    Buffer.from(withTotal(v4(6, [...tcpHdr(80, 0x18), ...bytesOf(piece)]))).copy(big);
    Buffer.from('GET /'.slice(piece.length)).copy(big, 40 + piece.length);
    t.same(dataOf(decodeFrame('raw', big, 40 + piece.length)), { payload: piece, sport: 40000 }, `${JSON.stringify(piece)}: nothing past the capture length read`);
  }
});
