// Metrics and events end to end (issue 26): Sesame's knockd in a server namespace (10.77.71.0/24)
// with Metrics_Listen, a signed Event_Webhook and an Event_Command. From the client namespace: the
// stock `knock` and `fwknop` clients, a replayed SPA packet and junk; a scrape with curl that
// `promtool check metrics` accepts and whose counters and gauges hold what was done; a real
// Prometheus server (Debian's) scraping the daemon and answering queries for it; a webhook receiver
// (test/helpers/event-receiver.mjs) whose signed JSON the test verifies. Then the webhook endpoint
// hanging, and down: knocks open as fast as with it answering. And a Metrics_Listen that cannot bind.

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SESAME, labForFile, logLines, readIf, waitFor, type Daemon } from '../helpers/lab.js';
import { verifyEvent, HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_DELIVERY, HEADER_EVENT } from '../../lib/events/wire.js';

t.setTimeout(240_000);
const { lab, children } = labForFile(t, 71, 'me');
const RECEIVER = join(ROOT, 'test/helpers/event-receiver.mjs');
const SECRET = 'metrics-events e2e webhook secret';
const K = Buffer.alloc(32, 7).toString('base64'), H = Buffer.alloc(64, 8).toString('base64');
const METRICS_URL = `http://${lab.server4}:9464/metrics`;

const secretFile = lab.file('hook.secret', `${SECRET}\n`);
chmodSync(secretFile, 0o600);
const cmdOut = lab.file('command.out', '');
const command = lab.file('on-event', `#!/bin/sh\n{ cat; echo " $SESAME_EVENT"; } >> ${cmdOut}\n`);
chmodSync(command, 0o755);

function conf(name: string, webhook: string, extra = ''): { conf: string; log: string } {
  const log = lab.file(`${name}.log`);
  const text = `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n\tMetrics_Listen = ${lab.server4}:9464\n` +
    `\tEvent_Webhook = ${webhook}\n\tEvent_Webhook_Secret_File = ${secretFile}\n${extra}` +
    '[ssh]\n\tSequence = 7000,8000,9000\n\tSeq_Timeout = 5\n\tOpen = tcp/2222\n\tCmd_Timeout = 20\n\tStart_Command = true\n' +
    '\tMax_Failures = 2\n' +
    `[spa]\n\tSPA_Key_Base64 = ${K}\n\tSPA_HMAC_Key_Base64 = ${H}\n\tSPA_Open_Ports = tcp/22\n\tOpen = tcp/22\n\tCmd_Timeout = 20\n`;
  return { conf: lab.file(`${name}.conf`, text), log };
}

function receiver(port: number, mode: 'ok' | 'hang' | 'fail'): string {
  const out = lab.file(`hook-${port}.jsonl`, '');
  const p = spawn('ip', ['netns', 'exec', lab.cli, process.execPath, RECEIVER, lab.client4, String(port), mode, out], { stdio: 'ignore' });
  children.push(p);
  return out;
}

const scrape = (): string => lab.exec(lab.cli, ['curl', '-sf', '--max-time', '5', METRICS_URL]);
/** A sample's value in exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
/** Knocks 7000,8000,9000 from `src` (raw SYNs: the stock client cannot pick its source address). */
function knockFrom(src: string): void {
  for (const port of [7000, 8000, 9000]) lab.synFrom(src, port);
}
function fwknop(save?: string): void {
  lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4, '-A', 'tcp/22',
    '-a', lab.client4, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac', ...(save ? ['-B', save] : [])]);
}
function sendUdp(text: string): void {
  lab.exec(lab.cli, ['python3', '-c',
    `import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(sys.argv[1].encode(),('${lab.server4}',62201))`, text]);
}
const opens = (log: string) => logLines(readIf(log)).filter((l) => l.endsWith('OPEN SESAME')).length;

/** Knocks from `src`; ms until the daemon logged the door open. */
async function timedKnock(log: string, src: string): Promise<number> {
  const before = opens(log);
  const t0 = performance.now();
  knockFrom(src);
  const ok = await waitFor(() => opens(log) > before, 10_000);
  return ok ? performance.now() - t0 : Infinity;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let daemon: Daemon | undefined;
const okTimes: number[] = [];

t.test('metrics, a real Prometheus, a signed webhook and Event_Command', async (t) => {
  const hooks = receiver(8080, 'ok');
  const { conf: c, log } = conf('main', `http://${lab.client4}:8080/hook`, `\tEvent_Command = ${command}\n`);
  daemon = await lab.start(SESAME, ['-c', c, '--state-dir', lab.file('state1')], log);
  t.ok(await waitFor(() => { try { return scrape().includes('sesame_grants_total'); } catch { return false; } }, 10_000), 'scraped');
  const first = scrape();
  t.equal(sample(first, 'sesame_grants_total{door="ssh",kind="knock"}'), 0, 'every series starts at 0');
  t.equal(sample(first, 'sesame_bans_active'), 0);

  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => opens(log) === 1, 5000), 'the knock opened');
  okTimes.push(await timedKnock(log, lab.client4b), await timedKnock(log, lab.client4), await timedKnock(log, lab.client4b));
  const saved = lab.file('spa.saved');
  fwknop(saved);
  t.ok(await waitFor(() => sample(scrape(), 'sesame_grants_total{door="spa",kind="spa"}') === 1, 5000), 'the SPA packet opened');
  sendUdp(readIf(saved).trim().split('\n').pop()!.trim()); // the same packet again: a replay
  sendUdp('!'.repeat(300)); // junk: not base64
  sendUdp('A'.repeat(300)); // base64-shaped junk: HMAC mismatch
  const wantRefused = () => { const s = scrape(); return sample(s, 'sesame_spa_refused_total{reason="hmac"}') === 1; };
  t.ok(await waitFor(wantRefused, 5000), 'the refusals are counted');

  const text = scrape();
  const check = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(check.trim(), '', 'promtool check metrics on a live scrape: no complaint');
  t.equal(sample(text, 'sesame_grants_total{door="ssh",kind="knock"}'), 4, 'four knock grants');
  t.equal(sample(text, 'sesame_grants_total{door="spa",kind="spa"}'), 1, 'one SPA grant');
  t.equal(sample(text, 'sesame_spa_refused_total{reason="replay"}'), 1, 'the replay');
  t.equal(sample(text, 'sesame_spa_refused_total{reason="decode"}'), 1, 'the non-base64 junk');
  for (const stage of [1, 2, 3]) t.equal(sample(text, `sesame_knock_stages_total{door="ssh",stage="${stage}"}`), 4, `stage ${stage} reached 4 times`);
  // The kernel's grants are read at most every 5 s: wait for a read after the last grant.
  t.ok(await waitFor(() => { const s = scrape(); return sample(s, 'sesame_active_grants{door="ssh"}') === 2 &&
    sample(s, 'sesame_active_grants{door="spa"}') === 1; }, 8000), 'two sources hold tcp/2222 in the kernel, one tcp/22');
  t.equal(sample(text, 'sesame_commands_total{door="ssh",phase="start",status="ok"}'), 4, 'start commands ran');
  t.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 10e6, 'process metrics');

  // The webhook: signed JSON for each grant, verified with the shared secret.
  t.ok(await waitFor(() => readIf(hooks).split('\n').filter(Boolean).length >= 5, 10_000), 'five grant events delivered (and a Redis-less node says nothing else)');
  const got = readIf(hooks).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { headers: Record<string, string>; body: string });
  const secret = new TextEncoder().encode(SECRET);
  const now = Math.floor(Date.now() / 1000);
  for (const g of got) {
    t.ok(verifyEvent(secret, g.headers[HEADER_TIMESTAMP.toLowerCase()]!, g.body, g.headers[HEADER_SIGNATURE.toLowerCase()]!, now),
      `signature verifies: ${g.headers[HEADER_DELIVERY.toLowerCase()]}`);
    t.notOk(verifyEvent(new TextEncoder().encode('another secret of enough length'), g.headers[HEADER_TIMESTAMP.toLowerCase()]!, g.body,
      g.headers[HEADER_SIGNATURE.toLowerCase()]!, now), 'not with another secret');
  }
  const bodies = got.map((g) => JSON.parse(g.body) as Record<string, unknown>);
  t.match(bodies.find((b) => b['kind'] === 'knock'), { version: 1, type: 'grant', door: 'ssh', kind: 'knock', address: lab.client4,
    ports: ['tcp/2222'], seconds: 20 });
  t.match(bodies.find((b) => b['kind'] === 'spa'), { type: 'grant', door: 'spa', address: lab.client4, ports: ['tcp/22'] });
  t.equal(got[0]!.headers[HEADER_EVENT.toLowerCase()], 'grant');
  t.ok(await waitFor(() => readIf(cmdOut).includes(' grant'), 10_000), 'Event_Command ran with the event on stdin');
  t.match(readIf(cmdOut), /"type":"grant".*"door":"ssh"/);

  // A ban (two resets from one source) and a flushed ruleset: counted, and told to the webhook.
  for (let i = 0; i < 2; i++) for (const port of [7000, 9000]) lab.synFrom(lab.client4b, port);
  t.ok(await waitFor(() => sample(scrape(), 'sesame_bans_active') === 1, 5000), 'the ban is in sesame_bans_active');
  lab.exec(lab.srv, ['nft', 'flush', 'ruleset']);
  t.ok(await waitFor(() => {
    const s = scrape();
    return sample(s, 'sesame_firewall_repairs_total{what="table"}') === 1 && sample(s, 'sesame_firewall_repairs_total{what="kernel-table"}') === 1;
  }, 10_000), 'the grant table and the kernel-matching table put back, and counted');
  const told = () => readIf(hooks).split('\n').filter(Boolean).map((l) => JSON.parse(JSON.parse(l).body as string) as Record<string, unknown>);
  t.ok(await waitFor(() => told().some((b) => b['type'] === 'firewall-repaired'), 10_000), 'the repair reached the webhook');
  t.match(told().find((b) => b['type'] === 'ban'), { type: 'ban', door: 'ssh', address: lab.client4b, failures: 2, seconds: 3600 });
  t.match(told().find((b) => b['type'] === 'firewall-repaired' && b['what'] === 'table'), { detail: /firewall: table inet sesame/ });

  // A real Prometheus server in the client namespace scrapes the daemon every second.
  const pdir = lab.file('prometheus');
  mkdirSync(pdir, { recursive: true });
  const pconf = join(pdir, 'prometheus.yml');
  writeFileSync(pconf, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sesame\n    static_configs:\n` +
    `      - targets: ['${lab.server4}:9464']\n`);
  const prom = spawn('ip', ['netns', 'exec', lab.cli, 'prometheus', `--config.file=${pconf}`, `--storage.tsdb.path=${join(pdir, 'data')}`,
    '--web.listen-address=127.0.0.1:9090'], { stdio: 'ignore' });
  children.push(prom);
  const query = (q: string): string | undefined => {
    try {
      const out = lab.exec(lab.cli, ['curl', '-sf', '--max-time', '3', '--get', '--data-urlencode', `query=${q}`,
        'http://127.0.0.1:9090/api/v1/query']);
      const r = JSON.parse(out) as { data: { result: { value: [number, string] }[] } };
      return r.data.result[0]?.value[1];
    } catch { return undefined; }
  };
  t.ok(await waitFor(() => query('up{job="sesame"}') === '1', 60_000), 'Prometheus reports the daemon up');
  t.ok(await waitFor(() => query('sesame_grants_total{door="ssh",kind="knock"}') === '4', 10_000), 'and holds the grant counter');
  prom.kill('SIGTERM');
  await lab.stop(daemon);
  daemon = undefined;
});

t.test('with the webhook hanging, or down, knocks open as fast', async (t) => {
  const cases: ['hang' | 'down', string][] = [['hang', `http://${lab.client4}:8081/hook`], ['down', `http://${lab.client4}:8099/hook`]];
  receiver(8081, 'hang');
  for (const [name, url] of cases) {
    const { conf: c, log } = conf(name, url);
    daemon = await lab.start(SESAME, ['-c', c, '--state-dir', lab.file(`state-${name}`)], log);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) times.push(await timedKnock(log, i % 2 ? lab.client4 : lab.client4b));
    t.ok(times.every(Number.isFinite), `${name}: every knock opened`);
    t.ok(median(times) < median(okTimes) + 500, `${name}: median ${median(times).toFixed(0)} ms to open, ` +
      `with the webhook answering ${median(okTimes).toFixed(0)} ms`);
    t.ok(scrape().includes('sesame_events_dropped_total'), `${name}: scraped while deliveries wait`);
    await lab.stop(daemon);
    daemon = undefined;
  }
});

t.test('a Metrics_Listen that cannot bind is a start error naming the key', async (t) => {
  const { conf: c } = conf('nobind', `http://${lab.client4}:8080/hook`);
  const text = readIf(c).replace(`Metrics_Listen = ${lab.server4}:9464`, 'Metrics_Listen = 10.77.71.250:9464');
  writeFileSync(c, text);
  const p = spawn('ip', ['netns', 'exec', lab.srv, SESAME, '-c', c, '--state-dir', lab.file('state-nobind')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let err = '';
  p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  t.not(code, 0, 'knockd exits');
  t.match(err, /Metrics_Listen = 10\.77\.71\.250:9464 \(line 4\): cannot listen: .*EADDRNOTAVAIL/);
});
