// RFC 4648 base32, as authenticator apps write secrets: upper or lower case, spaces and '='
// padding ignored on reading; upper case without padding on writing (what otpauth URIs carry).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The bytes of a base32 text, or undefined if it is not base32 (or leaves stray bits set). */
export function base32Decode(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  if (clean === '' || /[^A-Z2-7]/.test(clean)) return undefined;
  // 1, 3 and 6 leftover characters cannot come from whole bytes.
  if ([1, 3, 6].includes(clean.length % 8)) return undefined;
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const c of clean) {
    value = (value << 5) | ALPHABET.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
    value &= (1 << bits) - 1;
  }
  return value === 0 ? out : undefined;
}

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
