// Netlink attributes (struct nlattr: u16 length, u16 type, value, padded to 4 bytes), as the
// kernel's nf_tables dumps carry them. Pure; strict: a malformed attribute ends the parse with an
// error rather than a guess (the bytes come from the kernel, but a watchdog must not be fooled).

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export interface Attr {
  /** The type without the nested / byte-order flags. */
  readonly type: number;
  readonly value: Buffer;
}

export class AttrError extends Error {
  constructor(message: string) {
    super(`netlink: ${message}`);
    this.name = 'AttrError';
  }
}

const align4 = (n: number) => (n + 3) & ~3;

/** The attributes in `buf`, in order. */
export function parseAttrs(buf: Buffer): Attr[] {
  const out: Attr[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) throw new AttrError(`${buf.length - at} trailing bytes`);
    const len = buf.readUInt16LE(at);
    const type = buf.readUInt16LE(at + 2) & TYPE_MASK;
    if (len < 4 || at + len > buf.length) throw new AttrError(`attribute ${type} of length ${len} at ${at} overruns ${buf.length} bytes`);
    out.push({ type, value: buf.subarray(at + 4, at + len) });
    at += align4(len);
  }
  return out;
}

/** The first attribute of `type`, or undefined. */
export function attr(attrs: readonly Attr[], type: number): Buffer | undefined {
  return attrs.find((a) => a.type === type)?.value;
}

/** A NUL-terminated string attribute. */
export function attrString(attrs: readonly Attr[], type: number): string | undefined {
  const v = attr(attrs, type);
  if (v === undefined) return undefined;
  const end = v.indexOf(0);
  return v.subarray(0, end < 0 ? v.length : end).toString('utf8');
}

/** A big-endian u32 attribute (nf_tables sends numbers in network order). */
export function attrU32(attrs: readonly Attr[], type: number): number | undefined {
  const v = attr(attrs, type);
  return v !== undefined && v.length >= 4 ? v.readUInt32BE(0) : undefined;
}

/** Attributes back to bytes (lengths recomputed, padding zeroed): a canonical form to digest. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + a.value.length, 0);
    head.writeUInt16LE(a.type, 2);
    parts.push(head, a.value, Buffer.alloc(align4(a.value.length) - a.value.length));
  }
  return Buffer.concat(parts);
}

// A set element dump (NFT_MSG_NEWSETELEM): NFTA_SET_ELEM_LIST_ELEMENTS holds NFTA_LIST_ELEM
// entries; an element's key and data (NFTA_SET_ELEM_KEY, _DATA) each wrap an NFTA_DATA_VALUE.
const ELEM_LIST_ELEMENTS = 3;
const LIST_ELEM = 1;
const DATA_VALUE = 1;
export const ELEM = { key: 1, data: 2, flags: 3, objref: 9, keyEnd: 10 } as const;

/** Each element's attributes, over every message of one set's dump. */
export function setElements(messages: readonly Buffer[]): Attr[][] {
  const out: Attr[][] = [];
  for (const m of messages) {
    const list = attr(parseAttrs(m), ELEM_LIST_ELEMENTS);
    if (!list) continue;
    for (const e of parseAttrs(list)) if (e.type === LIST_ELEM) out.push(parseAttrs(e.value));
  }
  return out;
}

/** The bytes of an element's key or data (`ELEM.key`, `ELEM.data`); undefined if it has none. */
export function elementValue(element: readonly Attr[], which: number): Buffer | undefined {
  const wrapped = attr(element, which);
  return wrapped && attr(parseAttrs(wrapped), DATA_VALUE);
}
