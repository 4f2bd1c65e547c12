// The test helper that reads a terminal QR code back (test/helpers/terminal-qr.ts, used by
// test/e2e/knockd-provision.test.ts to hand knockd --provision's QR code to zbarimg): the pixels it
// reads from qrcode's small terminal rendering are the symbol's own modules, framed by the
// renderer's one-module white border, and the PBM it writes has the declared size.

import t from 'tap';
import QRCode from 'qrcode';
import { pixelsToPbm, terminalQrPixels } from '../helpers/terminal-qr.js';

const URIS = [
  'otpauth://totp/Sesame:ssh%40gate?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Sesame&algorithm=SHA1&digits=6&period=30',
  'x',
  'a'.repeat(300),
];

t.test('terminalQrPixels: the modules of the symbol, with the white border', async (t) => {
  for (const uri of URIS) {
    const { modules } = QRCode.create(uri); // what toString draws: the same text, the same options
    const { size } = modules;
    const text = await QRCode.toString(uri, { type: 'terminal', small: true });
    const px = terminalQrPixels(text);
    t.equal(px.length, size + 3, `${size}x${size}: a border row above, border and transparent rows below`);
    t.ok(px.every((r) => r.length === size + 2), 'a border column on each side');
    let same = true;
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) if (px[r + 1]![c + 1] !== Boolean(modules.get(r, c))) same = false;
    t.ok(same, 'every module as the symbol has it');
    t.ok(px[0]!.every((p) => !p) && px.slice(size + 1).every((r) => r.every((p) => !p)), 'border rows white');
    t.ok(px.every((r) => !r[0] && !r[size + 1]), 'border columns white');
  }
  t.throws(() => terminalQrPixels('ab'), /not a QR character/);
});

t.test('pixelsToPbm: P1, scaled, in a quiet zone', async (t) => {
  const pbm = pixelsToPbm([[true, false], [false, true]], 2, 1);
  const [magic, dims, ...body] = pbm.trimEnd().split('\n');
  t.equal(magic, 'P1');
  t.equal(dims, '8 8');
  t.equal(body.join(''), [
    '00000000', '00000000',
    '00110000', '00110000',
    '00001100', '00001100',
    '00000000', '00000000',
  ].join(''));
});
