// The pure TOTP parts: RFC 6238 Appendix B (SHA-1, 6 and 8 digits), RFC 4648 base32, the port
// encoding both ways, otpauth URIs and the secret file.

import t from 'tap';
import { base32Decode, base32Encode } from '../../lib/totp/base32.js';
import { hotp, totpCode, totpStep } from '../../lib/totp/totp.js';
import { codePorts, codePortRange, pairRanges, portsCode } from '../../lib/totp/ports.js';
import { parseTotpUri, totpUri } from '../../lib/totp/uri.js';
import { parseSecretFile } from '../../lib/totp/secret.js';

const RFC_SECRET = Buffer.from('12345678901234567890');
const RFC_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

t.test('RFC 6238 Appendix B, SHA-1', async (t) => {
  const vectors: [number, string][] = [
    [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
    [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
  ];
  for (const [time, code8] of vectors) {
    const step = totpStep(time * 1000);
    t.equal(totpCode(RFC_SECRET, step, 8), code8, `8 digits at ${time}`);
    t.equal(totpCode(RFC_SECRET, step, 6), code8.slice(2), `6 digits at ${time}`);
  }
  t.equal(totpStep(29_999), 0);
  t.equal(totpStep(30_000), 1);
});

t.test('RFC 4226 Appendix D HOTP values', async (t) => {
  const d = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  d.forEach((code, i) => t.equal(hotp(RFC_SECRET, i, 6), code, `counter ${i}`));
});

t.test('base32', async (t) => {
  t.same(base32Decode(RFC_B32), RFC_SECRET);
  t.same(base32Decode(RFC_B32.toLowerCase()), RFC_SECRET, 'lower case');
  t.same(base32Decode('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ'), RFC_SECRET, 'spaces');
  t.equal(base32Encode(RFC_SECRET), RFC_B32);
  // RFC 4648 §10
  const cases: [string, string][] = [['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
  for (const [plain, enc] of cases) {
    t.equal(base32Encode(Buffer.from(plain)), enc, plain);
    t.same(Buffer.from(base32Decode(enc)!), Buffer.from(plain), `${enc} back`);
    t.same(Buffer.from(base32Decode(`${enc}${'='.repeat((8 - (enc.length % 8)) % 8)}`)!), Buffer.from(plain), `${enc} padded`);
  }
  for (const bad of ['', 'A', 'ABC', 'ABCDEF', 'GEZD1', 'GEZ!', 'MZ', '====']) t.equal(base32Decode(bad), undefined, `"${bad}" refused`);
  for (let n = 0; n < 64; n++) {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
    if (n > 0) t.same(Buffer.from(base32Decode(base32Encode(bytes))!), bytes, `round trip ${n}`);
  }
});

t.test('port encoding', async (t) => {
  t.same(codePorts('287082', 40000, 'tcp').map((p) => p.port), [40028, 40170, 40282], 'the issue\'s example');
  t.same(codePorts('94287082', 40000, 'udp'), [
    { protocol: 'udp', port: 40094 }, { protocol: 'udp', port: 40128 }, { protocol: 'udp', port: 40270 }, { protocol: 'udp', port: 40382 },
  ]);
  t.same(codePorts('000000', 1, 'tcp').map((p) => p.port), [1, 101, 201]);
  t.same(codePorts('999999', 65236, 'tcp').map((p) => p.port), [65335, 65435, 65535], 'the highest base');
  t.throws(() => codePorts('12345', 40000, 'tcp'));
  t.throws(() => codePorts('12a456', 40000, 'tcp'));
  t.equal(portsCode([40028, 40170, 40282], 40000), '287082');
  t.equal(portsCode([40000, 40100], 40000), '0000');
  t.equal(portsCode([40100, 40170, 40282], 40000), undefined, 'a pair out of its range');
  t.equal(portsCode([39999], 40000), undefined);
  for (let i = 0; i < 200; i++) {
    const code = String((i * 7919) % 1_000_000).padStart(6, '0');
    t.equal(portsCode(codePorts(code, 20000, 'tcp').map((p) => p.port), 20000), code);
  }
  t.same(codePortRange(40000, 6), { first: 40000, last: 40299 });
  t.same(codePortRange(40000, 8), { first: 40000, last: 40399 });
  t.same(pairRanges(40000, 6, 'tcp'), [
    { protocol: 'tcp', first: 40000, last: 40099 }, { protocol: 'tcp', first: 40100, last: 40199 }, { protocol: 'tcp', first: 40200, last: 40299 },
  ]);
});

t.test('otpauth URIs', async (t) => {
  const uri = totpUri({ label: 'ssh@bastion', secret: RFC_SECRET, issuer: 'Sesame', digits: 6 });
  t.equal(uri, `otpauth://totp/Sesame:ssh%40bastion?secret=${RFC_B32}&issuer=Sesame&algorithm=SHA1&digits=6&period=30`);
  const back = parseTotpUri(uri)!;
  t.same(Buffer.from(back.secret), RFC_SECRET);
  t.equal(back.label, 'ssh@bastion');
  t.equal(back.issuer, 'Sesame');
  t.equal(back.digits, 6);
  t.equal(parseTotpUri(totpUri({ label: 'a b', secret: RFC_SECRET, issuer: 'Sesame', digits: 8 }))!.digits, 8);
  t.equal(parseTotpUri('otpauth://hotp/x?secret=GEZDGNBV'), undefined, 'HOTP');
  t.equal(parseTotpUri(`otpauth://totp/x?secret=${RFC_B32}&algorithm=SHA256`), undefined, 'SHA-256');
  t.equal(parseTotpUri(`otpauth://totp/x?secret=${RFC_B32}&period=60`), undefined, '60 s');
  t.equal(parseTotpUri(`otpauth://totp/x?secret=${RFC_B32}&digits=7`), undefined, '7 digits');
  t.equal(parseTotpUri('otpauth://totp/x?secret=1'), undefined, 'not base32');
  t.equal(parseTotpUri(`otpauth://totp/%E0%A4%A?secret=${RFC_B32}`), undefined, 'a broken escape in the label');
});

t.test('secret files', async (t) => {
  const ok = parseSecretFile(`${RFC_B32}\n`);
  t.ok(ok.ok && Buffer.from(ok.secret).equals(RFC_SECRET));
  t.ok(parseSecretFile(`# for the ssh door\n\n${RFC_B32.toLowerCase()}\r\n`).ok, 'comments, blank lines, CRLF');
  t.match(parseSecretFile(''), { ok: false, error: /0 lines/ });
  t.match(parseSecretFile(`${RFC_B32}\n${RFC_B32}\n`), { ok: false, error: /2 lines/ });
  t.match(parseSecretFile('not base32!\n'), { ok: false, error: /not base32/ });
  t.match(parseSecretFile(`${base32Encode(Buffer.alloc(8, 1))}\n`), { ok: false, error: /64 bits; at least 80 are needed/ }, '64 bits');
  t.ok(parseSecretFile(`${base32Encode(Buffer.alloc(10, 1))}\n`).ok, '80 bits is enough');
});
