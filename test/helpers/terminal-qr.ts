// A QR code as the npm qrcode package draws it in a terminal (`type: 'terminal', small: true`),
// read back into pixels, and written as a PBM image that zbarimg can decode. The small renderer
// draws two module rows per text line with half blocks on a white background and black
// foreground: ' ' white/white, '█' black/black, '▀' black over white, '▄' white over black; a
// character drawn in white foreground (`ESC[37m`) is the transparent edge below or above the
// one-module white border, read as white.

/** The pixels (true: dark) of a terminal QR code, one row per module row, border included. */
export function terminalQrPixels(text: string): boolean[][] {
  const rows: boolean[][] = [];
  for (const line of text.split('\n')) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    let white = false;
    for (const m of line.matchAll(/\x1b\[(\d+)m|([^\x1b])/g)) {
      if (m[1] !== undefined) {
        if (m[1] === '37') white = true;
        else if (m[1] === '30' || m[1] === '0') white = false;
        continue;
      }
      const c = m[2]!;
      const pair: [boolean, boolean] = white ? [false, false]
        : c === ' ' ? [false, false] : c === '█' ? [true, true] : c === '▀' ? [true, false] : c === '▄' ? [false, true]
          : (() => { throw new Error(`not a QR character: ${JSON.stringify(c)}`); })();
      top.push(pair[0]);
      bottom.push(pair[1]);
    }
    if (top.length) rows.push(top, bottom);
  }
  return rows;
}

/** A plain PBM (P1) of the pixels, each scaled to `scale`² and framed by `quiet` white modules. */
export function pixelsToPbm(pixels: readonly (readonly boolean[])[], scale = 4, quiet = 4): string {
  const width = Math.max(...pixels.map((r) => r.length));
  const w = (width + 2 * quiet) * scale;
  const lines: string[] = [];
  const blank = '0'.repeat(w);
  for (let i = 0; i < quiet * scale; i++) lines.push(blank);
  for (const row of pixels) {
    let line = '0'.repeat(quiet * scale);
    for (let x = 0; x < width; x++) line += (row[x] ? '1' : '0').repeat(scale);
    line += '0'.repeat(quiet * scale);
    for (let i = 0; i < scale; i++) lines.push(line);
  }
  for (let i = 0; i < quiet * scale; i++) lines.push(blank);
  // P1 lines should stay under 70 characters; pixels may be written without separators.
  const body = lines.join('').match(/.{1,64}/g)!.join('\n');
  return `P1\n${w} ${lines.length}\n${body}\n`;
}
