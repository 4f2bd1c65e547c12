// Splits a config file into knockd's logical lines. knockd reads with fgets() into a 4096-byte
// buffer, so a physical line longer than 4094 bytes becomes several logical lines, each counted.

const FGETS_CHUNK = 4095;

export interface LogicalLine {
  /** 1-based line number as knockd counts it. */
  readonly number: number;
  /** Text with C isspace() trimmed from both ends. */
  readonly text: string;
}

export function trimC(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

export function logicalLines(data: Buffer | string): LogicalLine[] {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out: LogicalLine[] = [];
  let start = 0;
  let n = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl + 1; // include the newline, as fgets does
    for (let s = start; s < end; s += FGETS_CHUNK) {
      const chunk = buf.subarray(s, Math.min(s + FGETS_CHUNK, end));
      out.push({ number: ++n, text: trimC(chunk.toString('utf8')) });
    }
    start = end;
  }
  return out;
}

/** C toupper() in the "C" locale: ASCII letters only (JS would turn 'ſ' into 'S'). */
export function upperC(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}
