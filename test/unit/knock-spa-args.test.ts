// knock --spa: the fwknoprc reader, the command line, the checks on every setting, the packet it
// builds (decoded back with the codec), --spa-keygen, and one real datagram on the loopback.

import t from 'tap';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStanzas, rcSettings, permissionWarnings, loadStanzas, RcError, type Raw } from '../../lib/client/fwknoprc.js';
import { parseSpaArgs, wantsSpa, type SpaCli } from '../../lib/client/spa-args.js';
import { buildRequest, encodeRequest, parseTimeOffset, SpaInputError, type SpaSettings } from '../../lib/client/spa-request.js';
import { keygenText } from '../../lib/client/spa-main.js';
import { knockMain } from '../../lib/client/knock-main.js';
import { parseKnockArgs } from '../../lib/client/args.js';
import { generateKeyPair, hmacKeyLength } from '../../lib/spa/keygen.js';
import { DIGEST_NAMES } from '../../lib/spa/digests.js';
import { decodeWire, RIJNDAEL_WIRE_MAX } from '../../lib/spa/wire.js';

const K = Buffer.alloc(32, 7).toString('base64');
const H = Buffer.alloc(64, 9).toString('base64');
const NOW = 1_800_000_000;
const ENV = { LOGNAME: 'alice', USER: 'bob' };
const cli = (text: string, origin = '--x'): Raw => ({ text, origin, cli: true });

function run(argv: string[]): SpaCli {
  const r = parseSpaArgs(argv);
  if (r.kind !== 'run') throw new Error(`parse: ${JSON.stringify(r)}`);
  return r.args;
}
function parseBad(argv: string[]): string {
  const r = parseSpaArgs(argv);
  if (r.kind !== 'bad') throw new Error(`expected bad, got ${r.kind}`);
  return r.message;
}
const BASE = ['--spa', '-A', 'tcp/22', '-a', '192.0.2.7', '--key-base64', K, '--hmac-key-base64', H, 'gate.example'];
function req(argv: string[], env: NodeJS.ProcessEnv = ENV, now = NOW) {
  return buildRequest(run(argv).settings, { env, now });
}
function reqErr(argv: string[], env: NodeJS.ProcessEnv = ENV): string {
  try {
    req(argv, env);
  } catch (e) {
    if (e instanceof SpaInputError) return e.message;
    throw e;
  }
  throw new Error('no error');
}
const without = (argv: string[], ...drop: string[]) => {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (drop.includes(argv[i]!)) { if (!['-s'].includes(argv[i]!)) i++; continue; }
    out.push(argv[i]!);
  }
  return out;
};

t.test('fwknoprc: stanzas, values, comments', async (t) => {
  const text = [
    'IGNORED before any stanza',
    '# comment',
    '[default]',
    'SPA_SERVER_PORT 62202',
    '  FW_TIMEOUT\t30   # trailing comment',
    'spoof_user lower   ; Sesame takes any case',
    'HMAC_DIGEST_TYPE = sha512',
    'DIGEST_TYPE=sha1',
    'ACCESS: tcp/22',
    '',
    '[other]',
    'THIS IS NOT A SETTING AT ALL',
    '[srv] # named',
    'SPA_SERVER 192.0.2.1',
    'FW_TIMEOUT 60',
    'KEY =starts-with-equals',
    '[srv]',
    'FW_TIMEOUT 90',
    '[default]',
    'ALLOW_IP source',
  ].join('\r\n');
  const r = readStanzas(text, 'rc', 'srv');
  t.same(r.entries.map((e) => [e.name, e.value, e.line]), [
    ['SPA_SERVER_PORT', '62202', 4], ['FW_TIMEOUT', '30', 5], ['SPOOF_USER', 'lower', 6], ['HMAC_DIGEST_TYPE', 'sha512', 7],
    ['DIGEST_TYPE', 'sha1', 8], ['ACCESS', 'tcp/22', 9], ['ALLOW_IP', 'source', 20],
    ['SPA_SERVER', '192.0.2.1', 14], ['FW_TIMEOUT', '60', 15], ['KEY', '=starts-with-equals', 16], ['FW_TIMEOUT', '90', 18],
  ]);
  t.same(r.warnings, [], 'comments after the value are fine');
  const s = rcSettings(r, 'rc');
  t.equal(s.values['timeout']?.text, '90', 'the stanza wins over [default]; a later line wins');
  t.equal(s.values['timeout']?.origin, 'rc:18: FW_TIMEOUT');
  t.equal(s.values['allow']?.text, 'source');
  t.equal(s.values['hmacDigest']?.text, 'sha512');
  t.equal(s.values['key']?.text, '=starts-with-equals', '`KEY =x` is read as fwknop reads it');
  t.same(readStanzas(text, 'rc', undefined).entries.map((e) => e.name), ['SPA_SERVER_PORT', 'FW_TIMEOUT', 'SPOOF_USER', 'HMAC_DIGEST_TYPE', 'DIGEST_TYPE', 'ACCESS', 'ALLOW_IP']);
  t.same(readStanzas(text, 'rc', 'default').entries.length, 7);
});

t.test('fwknoprc: a value is one word, as fwknop reads it', async (t) => {
  const r = readStanzas('[default]\nKEY my secret\nSPOOF_USER bob;x\nACCESS tcp/22, udp/53\n', 'rc', undefined);
  t.same(r.entries.map((e) => e.value), ['my', 'bob', 'tcp/22,']);
  t.equal(r.warnings.length, 2, 'what follows ";" or "#" is a comment');
  t.match(r.warnings[0], 'rc:2: only "my" is used as the value of KEY');
});

t.test('fwknoprc: errors name the file and line', async (t) => {
  const err = (text: string, stanza?: string) => t.throws(() => readStanzas(text, '/h/.fwknoprc', stanza), RcError);
  err('[default]\nSPA_SERVER\n');
  t.throws(() => readStanzas('[default]\nSPA_SERVER\n', '/h/.fwknoprc', undefined), { message: '/h/.fwknoprc:2: SPA_SERVER has no value' });
  t.throws(() => readStanzas('[default]\n!!! x\n', 'f', undefined), { message: 'f:2: cannot read "!!! x" (expected VARIABLE value)' });
  t.throws(() => readStanzas('[default]\nA_B;c 1\n', 'f', undefined), { message: /^f:2: cannot read/ });
  t.throws(() => readStanzas('[default]\nX 1\n', 'f', 'nope'), { message: 'f: no stanza [nope]' });
  t.doesNotThrow(() => readStanzas('[a]\n!!!\n[default]\n', 'f', undefined), 'garbage in a stanza not in use is ignored');
  t.throws(() => rcSettings(readStanzas('[default]\nBOGUS_VAR 1\n', 'f', undefined), 'f'), { message: 'f:2: BOGUS_VAR: unknown variable (see fwknop(8), FWKNOPRC FILE)' });
});

t.test('fwknoprc: what Sesame refuses, ignores and maps', async (t) => {
  const s = (body: string) => rcSettings(readStanzas(`[default]\n${body}\n`, 'f', undefined), 'f');
  t.same(s('USE_GPG Y').refused, [], 'GnuPG mode is a setting (knock-spa-gpg.test.ts)');
  t.equal(s('USE_GPG Y').values['gpg']?.text, 'Y');
  t.equal(s('NAT_ACCESS 192.168.1.5:22').values['natAccess']?.text, '192.168.1.5:22', 'NAT_ACCESS is a setting');
  t.equal(s('NAT_LOCAL Y').values['natLocal']?.text, 'Y');
  t.equal(s('SPOOF_SOURCE_IP 1.2.3.4').refused.length, 1);
  t.equal(s('KEY_FILE /x').refused.length, 1);
  t.equal(s('RAND_PORT Y').refused.length, 1);
  t.equal(s('RESOLVE_IP_HTTPS Y').values['allow']?.text, 'resolve');
  t.equal(s('RESOLVE_IP_HTTPS N').values['allow'], undefined);
  t.equal(s('SERVER_RESOLVE_IPV4 Y').values['family']?.text, '4');
  const quiet = s('VERBOSE Y\nNO_SAVE_ARGS Y\nHTTP_USER_AGENT x');
  t.same(quiet.refused, []);
  t.equal(quiet.notes.length, 3);
  const keys = s('KEY pass\nKEY_BASE64 QUJD\nHMAC_KEY_BASE64 QUJD\nHMAC_KEY text');
  t.same(Object.keys(keys.values).sort(), ['hmacKey', 'keyBase64'], 'one encryption key and one HMAC key: the later spelling wins');
});

t.test('fwknoprc: permissions warn like fwknop, they do not refuse', async (t) => {
  t.same(permissionWarnings('f', 0o100600, 0, 0), []);
  t.same(permissionWarnings('f', 0o100644, 0, 0), ['f: permissions should only be user read/write (0600, -rw-------)']);
  t.same(permissionWarnings('f', 0o100640, 5, 0).length, 2);
  const dir = mkdtempSync(join(tmpdir(), 'sesame-rc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'rc');
  writeFileSync(p, '[default]\nFW_TIMEOUT 5\n');
  chmodSync(p, 0o644);
  const r = loadStanzas(p, undefined);
  t.equal(r.entries.length, 1);
  t.match(r.warnings.join('\n'), 'permissions should only be user read/write');
  chmodSync(p, 0o600);
  t.same(loadStanzas(p, undefined).warnings, []);
  t.throws(() => loadStanzas(join(dir, 'missing'), undefined), { message: `cannot read fwknop rc file ${join(dir, 'missing')}: no such file` });
  t.throws(() => loadStanzas(dir, undefined), { message: /not a regular file/ });
});

t.test('time offsets: fwknop\'s units', async (t) => {
  const cases: Array<[string, number]> = [['90', 90], ['10s', 10], ['10sec', 10], ['5min', 300], ['5MIN', 300], ['3m', 180],
    ['2hours', 7200], ['2h', 7200], ['1days', 86400], ['2d', 172800], ['1day', 86400]];
  for (const [text, n] of cases) t.equal(parseTimeOffset(cli(text), false), n, text);
  t.equal(parseTimeOffset(cli('-5min'), true), -300);
  t.equal(parseTimeOffset(cli('+5'), true), 5);
  for (const bad of ['abc', '1week', '-5', '', '5 min', '99999999999']) t.throws(() => parseTimeOffset(cli(bad), false), SpaInputError, bad);
});

t.test('mode selection: --spa and --spa-keygen only', async (t) => {
  t.ok(wantsSpa(['--spa', 'h']));
  t.ok(wantsSpa(['h', '--spa-keygen']));
  t.notOk(wantsSpa(['h', '7000', '8000']));
  t.notOk(wantsSpa(['--', '--spa']));
  t.notOk(wantsSpa(['--spam']));
  // knock's own meanings are untouched.
  const k = parseKnockArgs(['-u', '-s', '192.0.2.1', '-d', '5', 'h', '1']);
  t.equal(k.kind, 'run');
  if (k.kind === 'run') { t.equal(k.args.source, '192.0.2.1'); t.equal(k.args.udp, true); t.equal(k.args.delay, 5); }
});

t.test('command line: values, groups, later -4/-6 wins', async (t) => {
  const a = run(['--spa', '-vsA', 'tcp/22', '-p62202', '-f', '45', '-U', 'eve', '-m', 'sha1', '-M', 'ctr', '--hmac-digest-type', 'sha512',
    '--key-rijndael', 'pw', '--key-base64-hmac', H, '-4', '-6', '--time-offset-plus', '1min', '-S', '4000', '-u', 'host']);
  t.equal(a.verbose, true);
  const s = a.settings;
  t.same([s.access?.text, s.allow?.text, s.port?.text, s.timeout?.text, s.user?.text, s.digest?.text, s.mode?.text, s.hmacDigest?.text],
    ['tcp/22', 'source', '62202', '45', 'eve', 'sha1', 'ctr', 'sha512']);
  t.equal(s.key?.text, 'pw');
  t.equal(s.hmacKeyBase64?.text, H);
  t.equal(s.family?.text, '6');
  t.equal(s.timeOffsetPlus?.text, '1min');
  t.equal(s.sourcePort?.text, '4000');
  t.equal(s.host?.text, 'host');
  t.equal(a.rcFile, undefined);
  t.equal(run(['--spa', '-6', '-4', 'h']).settings.family?.text, '4');
  t.equal(run(['--spa', '-D', 'h']).settings.host?.text, 'h');
  t.equal(run(['--spa', '-a', '1.2.3.4', '-a', '5.6.7.8', 'h']).settings.allow?.text, '5.6.7.8', 'the last one wins, as knock');
});

t.test('command line: --fwknoprc [FILE] and -n', async (t) => {
  t.equal(run(['--spa', '--fwknoprc']).rcFile, '');
  t.equal(run(['--spa', '--fwknoprc', '-n', 's']).rcFile, '');
  t.equal(run(['--spa', '--fwknoprc', 'f', '-n', 's']).rcFile, 'f');
  t.equal(run(['--spa', '--fwknoprc=f']).rcFile, 'f');
  t.equal(run(['--spa', '--rc-file', 'g']).rcFile, 'g');
  const n = run(['--spa', '-n', 'srv']);
  t.equal(n.rcFile, '', '-n alone reads ~/.fwknoprc');
  t.equal(n.stanza, 'srv');
});

t.test('command line: refusals', async (t) => {
  t.match(parseBad(['--spa', '-a', '1.2.3.4', '-s', 'h']), 'give -a IP or -s, not both');
  t.match(parseBad(['--spa', '-d', '5', 'h']), '-d/--delay is for knock sequences');
  t.match(parseBad(['--spa', '--key', 'a', '--key-base64', K, 'h']), 'give --key or --key-base64, not both');
  t.match(parseBad(['--spa', '--hmac-key', 'a', '--hmac-key-base64', H, 'h']), 'not both');
  t.match(parseBad(['--spa', 'h1', 'h2']), 'one host; unexpected "h2"');
  t.match(parseBad(['--spa', '-s', '10.0.0.1', 'h']), '-s takes no value');
  t.match(parseBad(['--spa', '-D', 'h1', 'h2']), 'unexpected "h2"');
  t.match(parseBad(['--spa', '--bogus', 'h']), 'knock: Unknown argument: bogus');
  t.match(parseBad(['--spa', '-A']), 'knock: Not enough arguments following: A');
  t.match(parseBad(['--spa-keygen', '-A', 'tcp/22']), '--spa-keygen takes only --hmac-digest');
  t.match(parseBad(['--spa-keygen', 'host']), '--spa-keygen takes only --hmac-digest');
  t.same(parseSpaArgs(['--spa', '-h']), { kind: 'usage' });
  t.same(parseSpaArgs(['--spa', '-V']), { kind: 'version' });
  t.same(parseSpaArgs(['--spa-keygen', '--hmac-digest', 'md5']), { kind: 'keygen', hmacDigest: { text: 'md5', origin: '--hmac-digest', cli: true } });
});

t.test('settings: checked with clear messages', async (t) => {
  t.match(reqErr(without(BASE, '-A')), 'no access request: give -A proto/port');
  t.match(reqErr([...without(BASE, '-A'), '-A', 'icmp/0']), '-A/--access: "icmp/0" is not tcp/PORT or udp/PORT');
  t.match(reqErr([...without(BASE, '-A'), '-A', 'tcp/0']), '"tcp/0" is not tcp/PORT');
  t.match(reqErr([...without(BASE, '-A'), '-A', 'tcp/22,udp/65536']), '"udp/65536" is not');
  t.match(reqErr([...without(BASE, '-A'), '-A', 'tcp/22,']), 'is not tcp/PORT');
  t.match(reqErr([...without(BASE, '-A'), '-A', '22']), '"22" is not');
  t.match(reqErr(without(BASE, '-a')), 'no address to allow: give -a IP');
  for (const ip of ['gate.example', '010.1.1.1', '1.2.3', '2001:db8::1', '256.1.1.1']) {
    t.match(reqErr([...without(BASE, '-a'), '-a', ip]), `-a/--allow-ip: "${ip}" is not an IPv4 address in dotted-quad form`, ip);
  }
  t.match(reqErr(without(BASE, 'gate.example')), 'no SPA server');
  t.match(reqErr([...without(BASE, 'gate.example'), '@home']), 'knock profiles (@name) are for knock sequences');
  t.match(reqErr(without(BASE, '--key-base64')), 'no encryption key');
  t.match(reqErr([...without(BASE, '--key-base64'), '--key-base64', Buffer.alloc(33, 1).toString('base64')]), '--key-base64: the encryption key is 33 bytes; fwknop allows 1 to 32');
  t.match(reqErr([...without(BASE, '--key-base64'), '--key', 'x'.repeat(33)]), '--key: the encryption key is 33 bytes');
  t.match(reqErr([...without(BASE, '--key-base64'), '--key-base64', 'not base64!']), '--key-base64: not valid base64');
  t.match(reqErr([...without(BASE, '--key-base64'), '--key-base64=']), '--key-base64: not valid base64');
  t.match(reqErr(without(BASE, '--hmac-key-base64')), 'no HMAC key: SPA without HMAC is refused');
  t.match(reqErr([...without(BASE, '--hmac-key-base64'), '--hmac-key-base64', K]), 'the HMAC key must differ from the encryption key (--key-base64)');
  t.match(reqErr([...without(BASE, '--hmac-key-base64'), '--hmac-key-base64', Buffer.alloc(129, 1).toString('base64')]), 'the HMAC key is 129 bytes; fwknop allows 1 to 128');
  t.match(reqErr([...BASE, '--hmac-digest', 'sha3']), '--hmac-digest: unknown digest "sha3"');
  t.match(reqErr([...BASE, '-m', 'crc32']), '--digest: unknown digest "crc32"');
  t.match(reqErr([...BASE, '-M', 'legacy']), 'legacy encryption mode is incompatible with HMAC');
  t.match(reqErr([...BASE, '-M', 'pcbc']), 'unknown encryption mode "pcbc"');
  for (const f of ['0', '65537', 'abc', '-1', '1.5']) t.match(reqErr([...BASE, `--fw-timeout=${f}`]), 'is not a timeout in seconds from 1 to 65536', f);
  t.match(reqErr([...BASE, '-p', '0']), '-p/--server-port: "0" is not a port number (1-65535)');
  t.match(reqErr([...BASE, '-p', '65536']), 'is not a port number');
  t.match(reqErr([...BASE, '-P', 'tcp']), 'knock sends SPA over UDP only');
  t.match(reqErr([...without(BASE, 'gate.example'), '-6', '192.0.2.1']), '-6: 192.0.2.1 is not an IPv6 address');
  t.match(reqErr([...BASE, '-U', 'a:b']), '-U/--spoof-user: the user name "a:b" cannot go in an SPA packet');
  t.match(reqErr([...BASE, '-U', 'x'.repeat(49)]), 'cannot go in an SPA packet');
  t.match(reqErr(BASE, { LOGNAME: 'dom\\user' }), '$LOGNAME: the user name "dom\\user" cannot go in an SPA packet');
  t.match(reqErr([...BASE, '--time-offset-minus', '5weeks']), '--time-offset-minus: "5weeks" is not a time offset');
  t.match(reqErr([...BASE, '--time-offset-minus', '-5']), 'is not a time offset');
  t.match(reqErr([...BASE, '--time-offset-plus', '9999999999']), 'is too large');
});

t.test('settings: defaults and precedence', async (t) => {
  const r = req(BASE);
  t.same([r.host, r.port, r.family, r.allowIp, r.username, r.timestamp, r.clientTimeout, r.digest, r.keys.hmacDigest, r.keys.mode, r.message],
    ['gate.example', 62201, 0, '192.0.2.7', 'alice', NOW, 0, 'sha256', 'sha256', 'cbc', '192.0.2.7,tcp/22']);
  t.equal(req([...without(BASE, '-a'), '-s']).message, '0.0.0.0,tcp/22');
  t.equal(req([...without(BASE, '-A'), '-A', 'tcp/22, UDP/1194,tcp/22']).message, '192.0.2.7,tcp/22,udp/1194');
  t.equal(req(BASE, { SPOOF_USER: 'sp', LOGNAME: 'ln', USER: 'us' }).username, 'sp');
  t.equal(req(BASE, { LOGNAME: 'ln', USER: 'us' }).username, 'ln');
  t.equal(req(BASE, { USER: 'us' }).username, 'us');
  t.equal(req(BASE, {}).username, 'NO_USER');
  t.equal(req([...BASE, '-U', 'eve'], { SPOOF_USER: 'sp' }).username, 'eve');
  t.equal(req([...BASE, '--time-offset-minus', '5min']).timestamp, NOW - 300);
  t.equal(req([...BASE, '--time-offset-plus', '1days', '--time-offset-minus', '1h']).timestamp, NOW + 86400 - 3600);
  t.equal(req([...BASE, '-f', '65536']).clientTimeout, 65536);
  t.equal(req([...BASE, '--key', 'pw'].filter((x, i, a) => x !== '--key-base64' && a[i - 1] !== '--key-base64')).keys.key.length, 2);
  t.equal(buildRequest({ ...run(BASE).settings, timeout: { text: '0', origin: 'rc:3: FW_TIMEOUT' } }, { env: ENV, now: NOW }).clientTimeout, 0,
    'FW_TIMEOUT 0 in an rc file means the server\'s default, as with fwknop');
  t.throws(() => buildRequest(run(BASE).settings, { env: ENV, now: NOW }, [{ text: 'GnuPG encryption is not supported', origin: 'f:2: USE_GPG' }]),
    { message: 'f:2: USE_GPG: GnuPG encryption is not supported' });
  const rcAllow = (text: string) => buildRequest({ ...run(without(BASE, '-a')).settings, allow: { text, origin: 'f:1: ALLOW_IP' } }, { env: ENV, now: NOW });
  t.equal(rcAllow('SOURCE').allowIp, '0.0.0.0');
  t.throws(() => rcAllow('resolve'), { message: /^f:1: ALLOW_IP: resolving the external address over HTTPS \(fwknop -R\) is not supported/ });
  const warn = buildRequest({ ...run(BASE).settings, useHmac: { text: 'N', origin: 'f:4: USE_HMAC' } }, { env: ENV, now: NOW });
  t.same(warn.warnings, ['f:4: USE_HMAC: ignored: knock --spa always sends an HMAC']);
});

t.test('the packet: decodes with the codec, every digest pair', async (t) => {
  for (const hd of DIGEST_NAMES) {
    for (const d of ['md5', 'sha256', 'sha3_512'] as const) {
      const pair = generateKeyPair(hd);
      const r = req(['--spa', '-A', 'tcp/22,udp/53', '-a', '10.0.0.9', '-f', '30', '-m', d, '--hmac-digest', hd,
        '--key-base64', pair.key.toString('base64'), '--hmac-key-base64', pair.hmacKey.toString('base64'), 'h']);
      const wire = encodeRequest(r);
      t.ok(wire.length >= 140 && wire.length < 400, `${hd}/${d}: ${wire.length} chars`);
      const dec = decodeWire(wire, { key: pair.key, hmacKey: pair.hmacKey, hmacDigest: hd, mode: 'cbc' });
      t.ok(dec.ok, `${hd}/${d} decodes`);
      if (dec.ok) {
        t.equal(dec.digest, d);
        t.same([dec.fields.username, dec.fields.timestamp, dec.fields.messageType, dec.fields.message, dec.fields.clientTimeout],
          ['alice', NOW, 3, '10.0.0.9,tcp/22,udp/53', 30]);
      }
    }
  }
  const plain = encodeRequest(req(BASE));
  const dec = decodeWire(plain, { key: Buffer.from(K, 'base64'), hmacKey: Buffer.from(H, 'base64'), hmacDigest: 'sha256', mode: 'cbc' });
  t.ok(dec.ok && dec.fields.messageType === 1 && dec.fields.clientTimeout === 0, 'no -f: an access message (type 1)');
});

t.test('the packet: 400 characters or more is refused (fwknopd would take it for GnuPG)', async (t) => {
  const ports = (n: number) => Array.from({ length: n }, (_, i) => `tcp/${10000 + i}`).join(',');
  const ok = encodeRequest(req([...without(BASE, '-A'), '-A', ports(11)]));
  t.equal(ok.length, 396, 'the longest that goes');
  t.ok(ok.length <= RIJNDAEL_WIRE_MAX);
  t.throws(() => encodeRequest(req([...without(BASE, '-A'), '-A', ports(12)])),
    { message: /^the SPA packet would be 417 characters; fwknopd takes 400 or more for GnuPG data and never decrypts it as Rijndael/ });
});

t.test('--spa-keygen: key lengths and both outputs', async (t) => {
  const lengths = Object.fromEntries(DIGEST_NAMES.map((d) => [d, hmacKeyLength(d)]));
  t.same(lengths, { md5: 64, sha1: 64, sha256: 64, sha384: 128, sha512: 128, sha3_256: 128, sha3_512: 72 });
  const a = generateKeyPair('sha512');
  const b = generateKeyPair('sha512');
  t.equal(a.key.length, 32);
  t.equal(a.hmacKey.length, 128);
  t.notSame(a.key, b.key, 'random');
  const text = keygenText('sha384', Buffer.alloc(32, 1), Buffer.alloc(128, 2));
  t.match(text, `SPA_Key_Base64 = ${Buffer.alloc(32, 1).toString('base64')}\n`);
  t.match(text, `SPA_HMAC_Key_Base64 = ${Buffer.alloc(128, 2).toString('base64')}\n`);
  t.match(text, 'SPA_HMAC_Digest = sha384\n');
  t.match(text, /\nKEY_BASE64 +\S+\nHMAC_KEY_BASE64 +\S+\nUSE_HMAC +Y\nHMAC_DIGEST_TYPE +sha384\n$/);
  // The fwknoprc half reads back into a packet.
  const rc = `[default]\n${text.split('\n\n')[1]}\nACCESS tcp/22\nALLOW_IP source\nSPA_SERVER h\n`;
  const s = rcSettings(readStanzas(rc, 'rc', undefined), 'rc');
  const r = buildRequest(s.values as SpaSettings, { env: ENV, now: NOW });
  t.equal(r.keys.hmacDigest, 'sha384');
  t.equal(r.keys.hmacKey!.length, 128);
});

/** Captures knockMain's output. */
async function main(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await knockMain(argv, { write: (s: string) => { out += s; return true; } } as never, { write: (s: string) => { err += s; return true; } } as never);
  return { code, out, err };
}

t.test('knock --spa end to end on the loopback: one datagram, the wire text', async (t) => {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.teardown(() => sock.close());
  const port = sock.address().port;
  const r = await main(['127.0.0.1', '--spa', '-v', '-p', String(port), '-A', 'udp/1194', '-a', '10.1.2.3', '--key-base64', K, '--hmac-key-base64', H, '-U', 'carol']);
  t.equal(r.code, 0, r.err);
  t.equal(r.err, '');
  const wire = /^SPA data: (\S+)$/m.exec(r.out)?.[1];
  t.match(r.out, /^SPA request: user carol, allow 10\.1\.2\.3, access udp\/1194, timestamp \d+\n/);
  for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
  t.equal(got.length, 1);
  t.equal(got[0]?.toString('latin1'), wire);
  t.notOk(got[0]?.includes(0x0a), 'no newline');
});

t.test('knock --spa: exit status 1 and one clear line for bad input', async (t) => {
  const r = await main(['--spa', '-A', 'tcp/22', '-a', '1.2.3.4', '--key-base64', K, '127.0.0.1']);
  t.equal(r.code, 1);
  t.equal(r.out, '');
  t.match(r.err, /^knock: no HMAC key: SPA without HMAC is refused/);
  const u = await main(['--spa', '--nope']);
  t.equal(u.code, 1);
  t.match(u.err, 'knock: Unknown argument: nope\n(knock --spa --help shows the SPA options)');
  const h = await main(['--spa', '--help']);
  t.equal(h.code, 0);
  t.match(h.out, /^usage: knock --spa -A proto\/port/);
  const k = await main(['--spa-keygen', '--hmac-digest', 'md5']);
  t.equal(k.code, 0);
  t.match(k.out, 'SPA_HMAC_Digest = md5');
  const kb = await main(['--spa-keygen', '--hmac-digest', 'md6']);
  t.equal(kb.code, 1);
  t.match(kb.err, 'knock: --hmac-digest: unknown digest "md6"');
  const dir = mkdtempSync(join(tmpdir(), 'sesame-rc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rc = join(dir, 'rc');
  writeFileSync(rc, '[default]\nHMAC_DIGEST_TYPE sha3\n[s]\nACCESS tcp/22\n', { mode: 0o600 });
  const bad = await main(['--spa', '--fwknoprc', rc, '-n', 's', '-a', '1.2.3.4', '--key-base64', K, '--hmac-key-base64', H, 'h']);
  t.equal(bad.code, 1);
  t.equal(bad.err, `knock: ${rc}:2: HMAC_DIGEST_TYPE: unknown digest "sha3" (md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512)\n`);
  const over = await main(['--spa', '--fwknoprc', rc, '-n', 's', '-a', '1.2.3.4', '--key-base64', K, '--hmac-key-base64', H, '--hmac-digest', 'sha1', '-p', '9', '--source-port', 'x', 'h']);
  t.match(over.err, '-S/--source-port: "x" is not a port number', 'the command line replaced the bad rc value');
  const big = await main(['--spa', '-A', Array.from({ length: 12 }, (_, i) => `tcp/${10000 + i}`).join(','), '-a', '192.0.2.7', '-U', 'alice', '--key-base64', K, '--hmac-key-base64', H, '127.0.0.1']);
  t.equal(big.code, 1);
  t.match(big.err, /^knock: the SPA packet would be 417 characters; fwknopd takes 400 or more for GnuPG data/);
  const missing = await main(['--spa', '-n', 'zzz'].concat([]));
  t.equal(missing.code, 1);
  t.match(missing.err, /^knock: (cannot read fwknop rc file .*\.fwknoprc|.*: no stanza \[zzz\])/);
});
