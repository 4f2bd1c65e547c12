// NFLOG frames (libpcap's DLT_NFLOG, what `nflog:GROUP` delivers): a 4-byte header (family,
// version, group) and TLVs (length and type in host order, each padded to 4 bytes). Sesame needs
// the prefix (which rule logged it) and the payload (the IP packet). Pure and total: nothing
// throws, nothing reads past `length`.

import { decodeFrame, type Decoded } from './decode.js';
import { endianness } from 'node:os';

const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;
const MAX_PREFIX = 128;
const LE = endianness() === 'LE';

export interface NflogFrame {
  readonly prefix: string;
  readonly packet: Decoded;
}

function u16(buf: Uint8Array, at: number): number {
  return LE ? buf[at]! | (buf[at + 1]! << 8) : (buf[at]! << 8) | buf[at + 1]!;
}

/** The prefix and decoded packet of one NFLOG frame; undefined when it has no prefix or payload. */
export function decodeNflog(buf: Uint8Array, length: number): NflogFrame | undefined {
  const len = Math.min(length, buf.length);
  if (len < 4 || (buf[1] ?? 1) !== 0) return undefined; // version 0 is the only one
  let prefix: string | undefined;
  let payload: [number, number] | undefined;
  let off = 4;
  while (off + 4 <= len) {
    const tlvLen = u16(buf, off);
    const type = u16(buf, off + 2) & 0x7fff; // the top bit flags nested attributes
    if (tlvLen < 4 || off + tlvLen > len) break;
    if (type === NFULA_PREFIX && tlvLen - 4 <= MAX_PREFIX) {
      let end = off + 4;
      while (end < off + tlvLen && buf[end] !== 0) end++;
      prefix = Buffer.from(buf.buffer, buf.byteOffset + off + 4, end - off - 4).toString('latin1');
    } else if (type === NFULA_PAYLOAD) {
      payload = [off + 4, tlvLen - 4];
    }
    off += (tlvLen + 3) & ~3;
  }
  if (prefix === undefined || payload === undefined) return undefined;
  const [at, size] = payload;
  return { prefix, packet: decodeFrame('raw', buf.subarray(at, at + size), size) };
}
