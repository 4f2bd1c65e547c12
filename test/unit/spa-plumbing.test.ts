// The small pieces SPA adds around the codec: UDP payloads out of frames, %PROTO%/%PORT%/%TIMEOUT%
// substitution with its checks, and the rate limit on refusal lines.

import t from 'tap';
import { decodeFrame } from '../../lib/capture/decode.js';
import { substitute } from '../../lib/actions/commands.js';
import { LogRateLimit } from '../../lib/log/rate-limit.js';

function udpFrame(payload: Buffer, o: { udpLen?: number; cut?: number } = {}): Buffer {
  const udpLen = o.udpLen ?? payload.length + 8;
  const ip = Buffer.from([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 77, 0, 2, 10, 77, 0, 1]);
  const udp = Buffer.from([0x9c, 0x40, 0xf2, 0xf9, udpLen >> 8, udpLen & 0xff, 0, 0]);
  const eth = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00]);
  const f = Buffer.concat([eth, ip, udp, payload]);
  return o.cut ? f.subarray(0, o.cut) : f;
}

t.test('UDP payload: carried when 140..1500 bytes, bounded by the UDP length and the capture', async (t) => {
  const text = 'A'.repeat(200);
  const d = decodeFrame('ethernet', udpFrame(Buffer.from(text)), 42 + 200);
  t.equal(typeof d === 'object' && d.payload, text);
  t.equal(typeof d === 'object' && d.dport, 62201);
  const small = decodeFrame('ethernet', udpFrame(Buffer.from('A'.repeat(139))), 42 + 139);
  t.equal(typeof small === 'object' && small.payload, undefined, 'a knock-sized datagram carries none');
  const big = decodeFrame('ethernet', udpFrame(Buffer.alloc(1501, 65)), 42 + 1501);
  t.equal(typeof big === 'object' && big.payload, undefined, 'over 1500: none');
  const lying = decodeFrame('ethernet', udpFrame(Buffer.from(text), { udpLen: 8 + 150 }), 42 + 200);
  t.equal(typeof lying === 'object' && lying.payload?.length, 150, 'the UDP length bounds it');
  const cut = udpFrame(Buffer.from(text), { cut: 42 + 160 });
  const c = decodeFrame('ethernet', cut, cut.length);
  t.equal(typeof c === 'object' && c.payload?.length, 160, 'the captured length bounds it');
  const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  const b = decodeFrame('ethernet', udpFrame(bytes), 42 + 200);
  t.same(typeof b === 'object' && Buffer.from(b.payload!, 'latin1'), bytes, 'bytes survive as latin1');
});

t.test('substitute: SPA values, one pass, checked', async (t) => {
  const spa = { protocol: 'udp', port: 1194, timeout: 30 } as const;
  t.equal(substitute('nft add element x { %IP% . %PROTO% . %PORT% timeout %TIMEOUT%s } %IP%', '10.0.0.2', spa),
    'nft add element x { 10.0.0.2 . udp . 1194 timeout 30s } 10.0.0.2');
  t.equal(substitute('%IP% %PORT%', 'fd77::2'), 'fd77::2 %PORT%', 'knock doors: only %IP%, as knockd');
  t.equal(substitute('%IP%PORT%', '10.0.0.2', spa), '10.0.0.2PORT%', 'a substituted value is not scanned again');
  t.throws(() => substitute('%IP%', '10.0.0.2; rm -rf /', spa));
  t.throws(() => substitute('%PROTO%', '10.0.0.2', { protocol: 'tcp; reboot' as 'tcp', port: 1, timeout: 1 }));
  t.throws(() => substitute('%PORT%', '10.0.0.2', { protocol: 'tcp', port: 70000, timeout: 1 }));
  t.throws(() => substitute('%TIMEOUT%', '10.0.0.2', { protocol: 'tcp', port: 22, timeout: 1.5 }));
});

t.test('rate limit: a burst, then a steady rate, and a count of what was dropped', async (t) => {
  let now = 0;
  const rl = new LogRateLimit(2, 3, () => now);
  const out: string[] = [];
  for (let i = 0; i < 10; i++) rl.line(`l${i}`, (l) => out.push(l));
  t.same(out, ['l0', 'l1', 'l2'], 'burst of 3');
  now = 1000;
  rl.line('later', (l) => out.push(l));
  t.same(out.slice(3), ['7 similar lines not logged (rate limit)', 'later']);
});
