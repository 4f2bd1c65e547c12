// `knockd --check` (lib/config/describe.ts) shows every key as understood: the fleet keys and the
// SPA NAT keys too, secrets never (their size, or the file that holds them).

import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { describeConfig } from '../../lib/config/describe.js';

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
