// C atoi() as glibc does it on LP64: skip leading white space, optional sign, digits until the
// first non-digit; strtol clamps to the 64-bit range, then the result is truncated to a 32-bit
// int. knockd reads every number this way, so `5s` is 5 and `abc` is 0.

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

export interface AtoiResult {
  value: number;
  /** True when the whole (trimmed) text was a plain decimal number. */
  exact: boolean;
}

export function atoi(text: string): AtoiResult {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d*)/.exec(text)!;
  const sign = m[1] ?? '';
  const digits = m[2] ?? '';
  const exact = digits.length > 0 && m[0].length === text.length && !/\s$/.test(text);
  if (digits === '') return { value: 0, exact: false };
  let big = BigInt(digits);
  if (sign === '-') big = -big;
  if (big > INT64_MAX) big = INT64_MAX;
  if (big < INT64_MIN) big = INT64_MIN;
  return { value: Number(BigInt.asIntN(32, big)), exact };
}

/** (unsigned short) cast of a C int. */
export function toUint16(n: number): number {
  return ((n % 65536) + 65536) % 65536;
}
