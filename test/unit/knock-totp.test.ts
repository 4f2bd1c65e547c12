// knock --totp: the code ports at fixed times (RFC 6238 Appendix B's vectors, 6 and 8 digits), the
// settings' checks, the pasteable port line, the command line and knock.ini profiles, and
// knockMain as users run it: --totp-ports prints, --totp sends (UDP on the loopback), bad input is
// refused before any packet leaves. Real time only (no clock hooks): where a test needs the
// current code, it computes it itself and waits out a step boundary that is too close.

import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTotp, portsLine, totpHits, totpSecret, type TotpSettings } from '../../lib/client/totp-knock.js';
import { parseKnockArgs } from '../../lib/client/args.js';
import { loadProfile, ProfileError } from '../../lib/client/profiles.js';
import { knockMain } from '../../lib/client/knock-main.js';
import { KNOCK_USAGE } from '../../lib/client/usage.js';
import { base32Decode } from '../../lib/totp/base32.js';
import { TOTP_STEP_SECONDS } from '../../lib/totp/totp.js';

/** RFC 6238 Appendix B's SHA-1 seed, "12345678901234567890", in base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const SECRET = base32Decode(RFC_SECRET)!;
const s6: TotpSettings = { path: '/s', digits: 6, portBase: 40000 };
const s8: TotpSettings = { path: '/s', digits: 8, portBase: 40000 };
const ports = (settings: TotpSettings, unixSeconds: number, udp = false) => totpHits(SECRET, settings, udp, unixSeconds * 1000).map((h) => h.port);

t.test('the code ports at fixed times: RFC 6238 Appendix B (SHA-1), 6 and 8 digits', async (t) => {
  t.same(ports(s6, 59), [40028, 40170, 40282], '59 s: 287082');
  t.same(ports(s8, 59), [40094, 40128, 40270, 40382], '59 s: 94287082');
  // Appendix B's 8-digit codes; the 6-digit code is its last six digits (the same HOTP value mod 10^6).
  const vectors: [number, string][] = [
    [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
    [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
  ];
  for (const [time, code] of vectors) {
    const pairs = (c: string) => c.match(/../g)!.map(Number);
    t.same(ports(s8, time), pairs(code).map((p, i) => 40000 + 100 * i + p), `${time} s: ${code}`);
    t.same(ports(s6, time), pairs(code.slice(2)).map((p, i) => 40000 + 100 * i + p), `${time} s: ${code.slice(2)}`);
  }
  t.same(ports(s6, 30), ports(s6, 59), 'one code for the whole 30 s step');
  t.notSame(ports(s6, 59), ports(s6, 60), 'the next step, the next code');
  t.same(ports(s6, 59.999), ports(s6, 59), 'milliseconds count toward the step they fall in');
  const udp = totpHits(SECRET, s6, true, 59_000);
  t.same(udp, [
    { protocol: 'udp', port: 40028, typed: '40028' }, { protocol: 'udp', port: 40170, typed: '40170' },
    { protocol: 'udp', port: 40282, typed: '40282' },
  ], '-u: the code ports are udp; typed is the port, as verbose output shows it');
  t.same(totpHits(SECRET, s6, false, 59_000).map((h) => h.protocol), ['tcp', 'tcp', 'tcp'], 'tcp by default');
  t.same(ports({ ...s6, portBase: 1 }, 59), [29, 171, 283], 'any base');
});

t.test('the port line: knock\'s own argument syntax, to paste after a host', async (t) => {
  t.equal(portsLine(totpHits(SECRET, s6, false, 59_000)), '40028 40170 40282');
  t.equal(portsLine(totpHits(SECRET, s6, true, 59_000)), '40028:udp 40170:udp 40282:udp');
  t.equal(portsLine([{ port: 22, protocol: 'tcp', typed: 'ssh' }, { port: 7000, protocol: 'udp', typed: '7000' }]), '22 7000:udp',
    'service names as numbers (the stock knock takes numbers)');
  t.equal(portsLine([]), '');
});

t.test('checkTotp: digits 6 or 8, a port base that keeps every code port within 65535', async (t) => {
  const cli = (digits: string | undefined, portBase: string | undefined) => checkTotp({
    path: '/s',
    digits: digits === undefined ? undefined : { value: digits, name: '--digits' },
    portBase: portBase === undefined ? undefined : { value: portBase, name: '--port-base' },
  });
  t.same(cli(undefined, '40000'), { ok: true, settings: { path: '/s', digits: 6, portBase: 40000 } }, 'six digits by default');
  t.same(cli('8', '40000'), { ok: true, settings: { path: '/s', digits: 8, portBase: 40000 } });
  t.same(cli(' 8 ', ' 1 '), { ok: true, settings: { path: '/s', digits: 8, portBase: 1 } }, 'blanks around values');
  t.same(cli(undefined, '65236'), { ok: true, settings: { path: '/s', digits: 6, portBase: 65236 } }, '6 digits: last port 65535');
  t.same(cli(undefined, '65237'), { ok: false, error: 'knock: --port-base 65237: a 6-digit code needs ports up to 65536, past 65535' });
  t.same(cli('8', '65136'), { ok: true, settings: { path: '/s', digits: 8, portBase: 65136 } }, '8 digits: last port 65535');
  t.same(cli('8', '65137'), { ok: false, error: 'knock: --port-base 65137: an 8-digit code needs ports up to 65536, past 65535'});
  for (const d of ['7', '', '6x', '06', 'eight']) t.same(cli(d, '40000'), { ok: false, error: `knock: --digits must be 6 or 8, not '${d}'` }, `digits '${d}'`);
  t.same(cli('6', undefined), { ok: false, error: "knock: --totp needs --port-base N (the door's TOTP_Port_Base)" });
  for (const b of ['0', '65536', '-1', 'abc', '4e4', '40000x', '', '123456']) {
    t.same(cli('6', b), { ok: false, error: `knock: --port-base must be a port from 1 to 65535, not '${b}'` }, `port base '${b}'`);
  }
  const prof = checkTotp({ path: '/s', digits: { value: '9', name: 'profile [home] digits' }, portBase: { value: '1', name: 'x' } });
  t.same(prof, { ok: false, error: "knock: profile [home] digits must be 6 or 8, not '9'" }, 'messages name where the value came from');
});

t.test('totpSecret: one line of base32, at least 80 bits; the message names the file', async (t) => {
  t.same(totpSecret('/f', `${RFC_SECRET}\n`), { ok: true, secret: SECRET });
  t.same(totpSecret('/f', `# mine\n${RFC_SECRET.toLowerCase()}\n\n`), { ok: true, secret: SECRET }, 'comments, blank lines, lower case');
  t.same(totpSecret('/f', 'not base32!\n'), { ok: false, error: 'knock: TOTP secret file /f is not base32 (A-Z and 2-7)' });
  t.same(totpSecret('/f', 'AAAA\n'), { ok: false, error: 'knock: TOTP secret file /f holds 16 bits; at least 80 are needed' });
  t.same(totpSecret('/f', ''), { ok: false, error: 'knock: TOTP secret file /f holds 0 lines of secret; one line of base32 is expected' });
  t.same(totpSecret('/f', `${RFC_SECRET}\n${RFC_SECRET}\n`), { ok: false, error: 'knock: TOTP secret file /f holds 2 lines of secret; one line of base32 is expected' });
});

t.test('the command line: --totp, --digits, --port-base, --totp-ports anywhere (GNU permutation)', async (t) => {
  const run = (argv: string[]) => {
    const r = parseKnockArgs(argv);
    if (r.kind !== 'run') throw new Error(JSON.stringify(r));
    return r.args;
  };
  t.same(run(['h', '1']).totp, { path: undefined, digits: undefined, portBase: undefined, printOnly: false }, 'nothing without them');
  t.same(run(['h', '--totp', '/s', '7000', '--digits', '8', '--port-base=40000', '--totp-ports']).totp,
    { path: '/s', digits: '8', portBase: '40000', printOnly: true });
  t.same(run(['h', '--totp', '/s', '7000', '--port-base=40000']).positional, ['h', '7000']);
  t.same(run(['--totp=/a', '--totp', '/b', 'h']).totp.path, '/b', 'the last one wins');
  t.same(run(['-uv', '--totp', '/s', 'h']).udp, true, 'short groups still work');
  const bad = parseKnockArgs(['h', '--totp']);
  t.equal(bad.kind, 'bad', '--totp needs a value');
});

t.test('knock.ini profiles: totp, digits, port_base', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-totp-prof-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ini = join(dir, 'knock.ini');
  writeFileSync(ini, [
    '[abs]', 'host = gate', 'totp = /etc/s.totp', 'port_base = 40000', 'digits = 8',
    '[rel]', 'host = gate', 'ports = 7000,8000:udp', 'totp = keys/gate.totp', 'port_base = 40000',
    '[home]', 'host = gate', 'totp = ~/gate.totp', 'port_base = 40000',
    '[orphan]', 'host = gate', 'ports = 1', 'digits = 8',
    '[nothing]', 'host = gate',
    '[plain]', 'host = gate', 'ports = 1,2',
  ].join('\n'));
  t.same(loadProfile('abs', ini), { host: 'gate', ports: [], totp: '/etc/s.totp', digits: '8', portBase: '40000' }, 'a TOTP profile needs no ports');
  t.same(loadProfile('rel', ini), { host: 'gate', ports: ['7000', '8000:udp'], totp: join(dir, 'keys/gate.totp'), portBase: '40000' },
    'a relative path is taken from knock.ini\'s directory');
  const home = process.env['HOME'];
  process.env['HOME'] = '/home/alice';
  t.teardown(() => { process.env['HOME'] = home; });
  t.equal(loadProfile('home', ini).totp, '/home/alice/gate.totp', '~/ is the home directory');
  t.throws(() => loadProfile('orphan', ini), new ProfileError('knock: profile [orphan]: digits and port_base need totp'));
  t.throws(() => loadProfile('nothing', ini), new ProfileError(`knock: profile [nothing] in ${ini} needs host and ports`), 'the old message, unchanged');
  t.same(loadProfile('plain', ini), { host: 'gate', ports: ['1', '2'] }, 'a profile without TOTP keys is as before');
});

/** Captures knockMain's output. */
async function main(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await knockMain(argv, { write: (s: string) => { out += s; return true; } } as never, { write: (s: string) => { err += s; return true; } } as never);
  return { code, out, err };
}

/** Waits until at least `margin` ms are left in the current 30 s step, so a code computed now still holds. */
async function awayFromStepEnd(margin = 3000): Promise<void> {
  const left = TOTP_STEP_SECONDS * 1000 - (Date.now() % (TOTP_STEP_SECONDS * 1000));
  if (left < margin) await new Promise((r) => setTimeout(r, left + 50));
}

t.test('knockMain: --totp-ports prints the ports of the current code and sends nothing; bad input is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-totp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = join(dir, 'gate.totp');
  writeFileSync(secret, `${RFC_SECRET}\n`);
  chmodSync(secret, 0o644); // the user's own file: any mode is read, with a warning
  const line = (udp: boolean) => portsLine(totpHits(SECRET, s6, udp, Date.now()));

  await awayFromStepEnd();
  let r = await main(['--totp-ports', '--totp', secret, '--port-base', '40000']);
  t.same(r, { code: 0, out: `${line(false)}\n`, err: `knock: warning: ${secret} is readable by others (mode 644; chmod 600)\n` },
    'no host needed to print; a secret others can read is named');
  chmodSync(secret, 0o600);
  r = await main(['--totp-ports', '--totp', secret, '--port-base', '40000']);
  t.same(r, { code: 0, out: `${line(false)}\n`, err: '' }, 'mode 600: no warning');
  r = await main(['--totp-ports', '--totp', secret, '--port-base', '40000', '-u', 'gate.invalid', '7000', 'ssh']);
  t.same(r, { code: 0, out: `7000:udp 22:udp ${line(true)}\n`, err: '' }, 'static ports first; -u makes all udp; no lookup of the host');
  r = await main(['--totp-ports', '--totp', secret, '--port-base', '40000', '--digits', '8', 'h', '7000:udp']);
  t.same(r, { code: 0, out: `7000:udp ${portsLine(totpHits(SECRET, s8, false, Date.now()))}\n`, err: '' });

  // A profile supplies what the command line leaves out; the command line wins.
  const cfg = join(dir, 'cfg');
  mkdirSync(join(cfg, 'sesame'), { recursive: true });
  writeFileSync(join(cfg, 'sesame', 'knock.ini'), `[gate]\nhost = gate.invalid\nports = 7000\ntotp = ${secret}\nport_base = 40000\ndigits = 6\n`);
  const xdg = process.env['XDG_CONFIG_HOME'];
  process.env['XDG_CONFIG_HOME'] = cfg;
  t.teardown(() => { if (xdg === undefined) delete process.env['XDG_CONFIG_HOME']; else process.env['XDG_CONFIG_HOME'] = xdg; });
  r = await main(['--totp-ports', '@gate']);
  t.same(r, { code: 0, out: `7000 ${line(false)}\n`, err: '' }, 'from the profile');
  r = await main(['--totp-ports', '@gate', '--digits', '8', '8000']);
  t.same(r, { code: 0, out: `7000 8000 ${portsLine(totpHits(SECRET, s8, false, Date.now()))}\n`, err: '' }, '--digits over the profile\'s');

  const refused = async (argv: string[], message: string) => {
    const x = await main(argv);
    t.same(x, { code: 1, out: '', err: `${message}\n` }, message);
  };
  await refused(['--totp', join(dir, 'none'), '--port-base', '40000', 'h'], `knock: cannot read TOTP secret file ${join(dir, 'none')}: No such file or directory`);
  await refused(['--totp', dir, '--port-base', '40000', 'h'], `knock: cannot read TOTP secret file ${dir}: Is a directory`);
  const junk = join(dir, 'junk');
  writeFileSync(junk, 'this is not base32\n');
  await refused(['--totp', junk, '--port-base', '40000', 'h'], `knock: TOTP secret file ${junk} is not base32 (A-Z and 2-7)`);
  await refused(['--totp', secret, '--port-base', '40000', '--digits', '7', 'h'], "knock: --digits must be 6 or 8, not '7'");
  await refused(['--totp', secret, 'h'], "knock: --totp needs --port-base N (the door's TOTP_Port_Base)");
  await refused(['--totp', secret, '--port-base', '65400', 'h'], 'knock: --port-base 65400: a 6-digit code needs ports up to 65699, past 65535');
  await refused(['--digits', '8', 'h', '1'], 'knock: --digits and --port-base need --totp SECRET_FILE');
  await refused(['--totp-ports', 'h', '1'], 'knock: --totp-ports needs --totp SECRET_FILE (or a profile with totp)');
  const u = await main(['--totp', secret, '--port-base', '40000']);
  t.same(u, { code: 1, out: KNOCK_USAGE, err: '' }, 'a knock without a host prints the usage');
  const plain = await main(['h']);
  t.same(plain, { code: 1, out: KNOCK_USAGE, err: '' }, 'without --totp, a host alone is still a usage error');
});

t.test('knockMain --totp on the loopback: the static ports, then the code of the moment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-totp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = join(dir, 'gate.totp');
  writeFileSync(secret, `${RFC_SECRET}\n`);
  const base = 50000 + Math.floor(Math.random() * 100) * 100;
  await awayFromStepEnd(5000);
  const expect = totpHits(SECRET, { ...s6, portBase: base }, true, Date.now()).map((h) => h.port);
  const got: number[] = [];
  const socks: Socket[] = [];
  t.teardown(() => { for (const s of socks) s.close(); });
  let staticPort = 0;
  for (const port of [0, ...expect]) {
    const s = createSocket('udp4');
    s.on('message', () => got.push(s.address().port));
    await new Promise<void>((res, rej) => { s.once('error', rej); s.bind(port, '127.0.0.1', () => res()); });
    socks.push(s);
    if (port === 0) staticPort = s.address().port;
  }
  const r = await main(['-u', '-v', '-d', '20', '--totp', secret, '--port-base', String(base), '127.0.0.1', String(staticPort)]);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, [staticPort, ...expect].map((p) => `hitting udp 127.0.0.1:${p}\n`).join(''));
  for (let i = 0; i < 50 && got.length < 4; i++) await new Promise((res) => setTimeout(res, 20));
  t.same(got, [staticPort, ...expect], 'one datagram each, in order');
});
