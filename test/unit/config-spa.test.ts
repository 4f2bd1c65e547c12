// SPA door keys: defaults, spellings, and one clear error naming the line for each bad value or
// missing piece.

import type { Test } from 'tap';
import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import type { Door } from '../../lib/config/types.js';

const K = 'lxIfokQ71uMKt5ITQGCRM+TneIlb3N7Q3FeWhWxuTu8=';
const H = 'n5FUp1Q9pSULT0a1+vQqWNdJiiyNZt4YB9nT4BDoP4x1FwjsXXFDaLhX6C73Z8G1AK+aWUXgy6Pih5VWLz8xjA==';
const BASE = `SPA_Key_Base64 = ${K}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Open_Ports = tcp/22\n`;

const door = (body: string): Door => parseConfig(`[d]\n${body}`, 'test.conf').doors[0]!;

function error(t: Test, body: string, message: string, line: number): void {
  try {
    parseConfig(`[d]\n${body}`, 'test.conf');
    t.fail(`no error for ${JSON.stringify(body)}`);
  } catch (err) {
    t.type(err, ConfigError);
    t.equal((err as ConfigError).message, message, message);
    t.equal((err as ConfigError).line, line, `line ${line}`);
  }
}

t.test('an SPA-only door: no sequence needed; defaults', async (t) => {
  const d = door(BASE);
  t.same(d.sequence, []);
  t.ok(d.spa);
  t.equal(Buffer.from(d.spa!.key!).toString('base64'), K);
  t.equal(Buffer.from(d.spa!.hmacKey!).toString('base64'), H);
  t.equal(d.spa!.hmacDigest, 'sha256');
  t.equal(d.spa!.mode, 'cbc');
  t.equal(d.spa!.port, 62201);
  t.same(d.spa!.openPorts, [{ protocol: 'tcp', port: 22 }]);
  t.equal(d.spa!.maxAge, 120);
  t.equal(d.spa!.maxTimeout, 10, 'SPA_Max_Timeout defaults to Cmd_Timeout');
  t.equal(d.spa!.requireSource, false);
});

t.test('a door with a sequence and SPA; keys case-insensitive; every setting', async (t) => {
  const d = door(`sequence = 7000,8000\nspa_key = my passphrase\nSpa_Hmac_Key_Base64 = ${H}\nSPA_HMAC_Digest = SHA3-512\n`
    + 'SPA_Port = 5000\nSPA_Open_Ports = tcp/22, UDP/1194,tcp/22\nSPA_Max_Age = 30\nCmd_Timeout = 45\nSPA_Max_Timeout = 600\n'
    + 'SPA_Require_Source_Address = Yes\nSPA_Encryption_Mode = CTR\n');
  t.equal(d.sequence.length, 2);
  t.equal(Buffer.from(d.spa!.key!).toString(), 'my passphrase');
  t.equal(d.spa!.hmacDigest, 'sha3_512');
  t.equal(d.spa!.port, 5000);
  t.same(d.spa!.openPorts, [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 1194 }], 'duplicates dropped, protocol case folded');
  t.equal(d.spa!.maxAge, 30);
  t.equal(d.spa!.maxTimeout, 600);
  t.equal(d.spa!.requireSource, true);
  t.equal(d.spa!.mode, 'ctr');
  t.equal(door(`${BASE}Cmd_Timeout = 45\n`).spa!.maxTimeout, 45, 'default follows Cmd_Timeout wherever it is set');
  t.equal(door(`Cmd_Timeout = 45\n${BASE}`).spa!.maxTimeout, 45);
});

t.test('a sequence door is unchanged: spa is undefined', async (t) => {
  t.equal(door('sequence = 1\n').spa, undefined);
});

t.test('missing pieces: named by section and line', async (t) => {
  error(t, `SPA_HMAC_Key_Base64 = ${H}\nSPA_Open_Ports = tcp/22\n`, 'config: section d: SPA needs SPA_Key or SPA_Key_Base64 (or SPA_GPG_ keys)', 2);
  error(t, `SPA_Key = abc\nSPA_Open_Ports = tcp/22\n`, 'config: section d: SPA needs SPA_HMAC_Key_Base64: Sesame serves no SPA without HMAC', 2);
  error(t, `SPA_Key = abc\nSPA_HMAC_Key_Base64 = ${H}\n`, 'config: section d: SPA needs SPA_Open_Ports or Open (what a client may open, e.g. tcp/22), a NAT key (SPA_Forward, SPA_Local_NAT, SPA_Force_NAT) or SPA_Command_Allow_File', 2);
  error(t, 'SPA_Port = 62201\n', 'config: section d: SPA needs SPA_Key or SPA_Key_Base64 (or SPA_GPG_ keys)', 2);
});

t.test('bad values', async (t) => {
  error(t, `SPA_Key = ${'x'.repeat(33)}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Open_Ports = tcp/22\n`, 'config: section d: the SPA encryption key is 33 bytes; fwknop allows 1 to 32', 2);
  error(t, `SPA_Key_Base64 = ${Buffer.alloc(40, 1).toString('base64')}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Open_Ports = tcp/22\n`, 'config: section d: the SPA encryption key is 40 bytes; fwknop allows 1 to 32', 2);
  error(t, `SPA_Key = abc\nSPA_HMAC_Key_Base64 = ${Buffer.alloc(129, 1).toString('base64')}\nSPA_Open_Ports = tcp/22\n`, 'config: section d: the SPA HMAC key is 129 bytes; fwknop allows 1 to 128', 3);
  error(t, `SPA_Key = abcd\nSPA_HMAC_Key_Base64 = YWJjZA==\nSPA_Open_Ports = tcp/22\n`, 'config: section d: the SPA HMAC key must differ from the encryption key', 3);
  error(t, 'SPA_Key_Base64 = not base64!\n', 'config: line 2: SPA_Key_Base64 is not valid base64', 2);
  error(t, 'SPA_HMAC_Key_Base64 = abc=def\n', 'config: line 2: SPA_HMAC_Key_Base64 is not valid base64', 2);
  error(t, 'SPA_Key = a\nSPA_Key_Base64 = YQ==\n', 'config: line 3: SPA_Key and SPA_Key_Base64 given twice; a door has one encryption key', 3);
  error(t, 'SPA_HMAC_Digest = sha224\n', 'config: line 2: SPA_HMAC_Digest "sha224" is not one of md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512', 2);
  error(t, 'SPA_Encryption_Mode = legacy\n', 'config: line 2: SPA_Encryption_Mode "legacy" is not one of cbc, ctr, cfb, ofb, ecb (legacy mode has no HMAC and is not served)', 2);
  for (const p of ['0', '65536', '-1', '62201x', '', ' 1 2']) {
    error(t, `SPA_Port = ${p}\n`, `config: line 2: SPA_Port "${p.trim()}" is not a UDP port (1-65535)`, 2);
  }
  error(t, 'SPA_Open_Ports = icmp/0\n', 'config: line 2: SPA_Open_Ports: unknown protocol "icmp" (use tcp or udp)', 2);
  error(t, 'SPA_Open_Ports = tcp/70000\n', 'config: line 2: SPA_Open_Ports: port 70000 is out of range (1-65535)', 2);
  error(t, 'SPA_Open_Ports = tcp/0\n', 'config: line 2: SPA_Open_Ports: port 0 is out of range (1-65535)', 2);
  error(t, 'SPA_Open_Ports = tcp/22,\n', 'config: line 2: SPA_Open_Ports: "" is not protocol/port (e.g. tcp/22)', 2);
  error(t, 'SPA_Open_Ports = 22\n', 'config: line 2: SPA_Open_Ports: "22" is not protocol/port (e.g. tcp/22)', 2);
  error(t, 'SPA_Open_Ports = tcp/22;rm -rf /\n', 'config: line 2: SPA_Open_Ports: "tcp/22;rm -rf /" is not protocol/port (e.g. tcp/22)', 2);
  error(t, 'SPA_Max_Age = 0\n', 'config: line 2: SPA_Max_Age must be a whole number of seconds from 1 to 8388608, not "0"', 2);
  error(t, 'SPA_Max_Age = 2m\n', 'config: line 2: SPA_Max_Age must be a whole number of seconds from 1 to 8388608, not "2m"', 2);
  error(t, 'SPA_Max_Timeout = 99999999\n', 'config: line 2: SPA_Max_Timeout must be a whole number of seconds from 1 to 8388608, not "99999999"', 2);
  error(t, 'SPA_Require_Source_Address = maybe\n', 'config: line 2: SPA_Require_Source_Address must be yes or no, not "maybe"', 2);
});

t.test('a door with neither sequence nor SPA keeps knockd\'s error', async (t) => {
  error(t, 'cmd_timeout = 5\n', "error: section 'd' has an empty knock sequence", 1);
});

t.test('Open: ports checked, SPA_Open_Ports defaults to it, grant time bounded', async (t) => {
  const d = door('sequence = 1\nOpen = tcp/22, UDP/1194\n');
  t.same(d.open, [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 1194 }]);
  t.equal(d.openLine, 3);
  const s = door(`SPA_Key = abc\nSPA_HMAC_Key_Base64 = ${H}\nOpen = tcp/2222\n`);
  t.same(s.spa!.openPorts, [{ protocol: 'tcp', port: 2222 }]);
  error(t, 'sequence = 1\nOpen = sctp/9\n', 'config: line 3: Open: unknown protocol "sctp" (use tcp or udp)', 3);
  error(t, 'sequence = 1\nOpen = tcp/65536\n', 'config: line 3: Open: port 65536 is out of range (1-65535)', 3);
  error(t, 'sequence = 1\nOpen = tcp/22\ncmd_timeout = 604801\n', 'config: section d: cmd_timeout 604801 is too long for Open grants (at most 604800 seconds)', 3);
  error(t, 'Open = tcp/22\n', "error: section 'd' has an empty knock sequence", 1);
});
