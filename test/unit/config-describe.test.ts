// `knockd --check` (lib/config/describe.ts) shows every key as understood: the fleet keys and the
// SPA NAT keys too, secrets never (their size, or the file that holds them).

import t from 'tap';
import { nodeIO, parseConfig } from '../../lib/config/parser.js';
import { describeConfig, describeTotp } from '../../lib/config/describe.js';

const K = Buffer.alloc(32, 7).toString('base64');
const H = Buffer.alloc(64, 9).toString('base64');

t.test('Fleet_* keys and SPA NAT keys are shown; secrets are not', async (t) => {
  const text = `[options]\n\tFleet_Redis = rediss://10.0.0.1:6380/2\n\tFleet_Key_File = /etc/sesame/fleet.key\n\tFleet_Password_File = /etc/sesame/redis.pw\n\tFleet_Name = bastions\n\tFleet_Node = b1\n` +
    `[nat]\n\tSPA_Key_Base64 = ${K}\n\tSPA_HMAC_Key_Base64 = ${H}\n\tSPA_Forward = 10.77.136.0/28 tcp/3306, 10.77.136.5 udp/5353\n\tSPA_Local_NAT = tcp/2222\n\tSPA_SNAT = masquerade\n` +
    `[force]\n\tSPA_Port = 62202\n\tSPA_Key_Base64 = ${K}\n\tSPA_HMAC_Key_Base64 = ${H}\n\tSPA_Force_NAT = 10.77.136.5 tcp/22\n\tSPA_Open_Ports = tcp/4400\n` +
    `[k]\n\tsequence = 1,2\n\tFleet_Shared_Knocks = yes\n\tOpen = tcp/22\n`;
  const out = describeConfig(parseConfig(text, 'c.conf'));
  for (const line of [
    '  fleet_redis: rediss://10.0.0.1:6380/2 (line 2)', '  fleet_key_file: /etc/sesame/fleet.key', '  fleet_password_file: /etc/sesame/redis.pw', '  fleet_name: bastions', '  fleet_node: b1',
    '  spa_forward: 10.77.136.0/28 tcp/3306, 10.77.136.5 udp/5353', '  spa_local_nat: tcp/2222', '  spa_force_nat: (none)', '  spa_snat: masquerade',
    '  spa_open_ports: (none)', '  spa_force_nat: 10.77.136.5 tcp/22', '  spa_open_ports: tcp/4400', '  fleet_shared_knocks: yes (line 21)',
  ]) t.ok(out.includes(`${line}\n`), line);
  t.notOk(out.includes(K) || out.includes(H), 'no key material');
  const plain = describeConfig(parseConfig('[d]\nsequence = 1,2\n', 'c.conf'));
  t.notMatch(plain, /fleet_|spa_forward/, 'nothing of either without them');
});

t.test('a TOTP door: its keys by name, the port range of each pair, the secret file by path only; ban policies', async (t) => {
  const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  const io = { ...nodeIO, readSecret: () => Buffer.from(`${SECRET}\n`) };
  const text = '[ssh]\n\tsequence = 7000\n\tTOTP_Secret_File = /etc/sesame/ssh.totp\n\tTOTP_Port_Base = 40000\n\tcommand = true\n' +
    '[vpn]\n\tTOTP_Secret_File = /etc/sesame/vpn.totp\n\tTOTP_Digits = 8\n\tTOTP_Port_Base = 50000\n\tTOTP_Window = 0\n\tTOTP_Protocol = udp\n' +
    '\tMax_Failures = 5\n\tFailure_Window = 60\n\tBan_Time = 600\n\tcommand = true\n' +
    '[old]\n\tsequence = 1,2\n\tMax_Failures = 3\n\tcommand = true\n';
  const out = describeConfig(parseConfig(text, 'c.conf', io));
  const door = (name: string) => `${out.slice(out.indexOf(`door '${name}'`)).split(/\n(?=door )/)[0]!.trimEnd()}\n`;
  t.equal(door('ssh').split('\n').slice(10).join('\n'), [
    '  totp_secret_file: /etc/sesame/ssh.totp',
    '  totp_digits: 6',
    '  totp_port_base: 40000 (line 4)',
    '  totp_window: 1 (and the 1 earlier 30 s step)',
    '  totp_protocol: tcp',
    '  totp_ports: tcp/40000-40099, tcp/40100-40199, tcp/40200-40299 (after the sequence)',
    '  max_failures: 10 (a TOTP door\'s default)',
    '  failure_window: 300',
    '  ban_time: 3600',
    '',
  ].join('\n'), 'defaults filled in; the code follows the sequence; a TOTP door bans by default');
  t.equal(door('vpn').split('\n').slice(10).join('\n'), [
    '  totp_secret_file: /etc/sesame/vpn.totp',
    '  totp_digits: 8',
    '  totp_port_base: 50000 (line 9)',
    '  totp_window: 0 (the current 30 s step only)',
    '  totp_protocol: udp',
    '  totp_ports: udp/50000-50099, udp/50100-50199, udp/50200-50299, udp/50300-50399',
    '  max_failures: 5 (line 12)',
    '  failure_window: 60',
    '  ban_time: 600',
    '',
  ].join('\n'), 'an 8-digit udp door without a sequence, and its bans');
  t.match(door('vpn'), '  sequence: (none)\n');
  t.match(door('old'), '  max_failures: 3 (line 18)\n  failure_window: 300\n  ban_time: 3600\n', 'a ban policy on a door without TOTP, defaults filled in');
  t.notMatch(door('old'), /totp_/);
  t.notOk(out.includes(SECRET) || out.includes('GEZDG'), 'never the secret');
  t.same(describeTotp({ path: '/s', secret: new Uint8Array(10), digits: 6, portBase: 1, window: 2, protocol: 'tcp', line: 3 }, false).slice(3, 6), [
    '  totp_window: 2 (and the 2 earlier 30 s steps)', '  totp_protocol: tcp', '  totp_ports: tcp/1-100, tcp/101-200, tcp/201-300',
  ]);
});
