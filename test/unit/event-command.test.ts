// Event_Command (lib/hooks/event-command.ts through openSinks): a real script gets the event's JSON
// on stdin and SESAME_EVENT in its environment; nothing goes through a shell; a hung command is
// killed, its children too; failures are retried and counted.

import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSinks } from '../../lib/hooks/sinks.js';
import { runEventCommand } from '../../lib/hooks/event-command.js';
import { eventBody } from '../../lib/events/wire.js';
import type { SesameEvent } from '../../lib/events/types.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-hook-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${text}\n`);
  chmodSync(p, 0o755);
  return p;
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether a process is gone (a zombie waiting for its reaper counts as gone). */
function gone(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return true; }
  try { return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

const out = join(dir, 'out');
const recorder = script('record', `cat > "${out}/$SESAME_DELIVERY.json"\nprintf '%s %s' "$SESAME_EVENT" "$HOME" > "${out}/$SESAME_DELIVERY.env"`);
const fast = { backoffMs: 10, timeoutMs: 2000 };

t.test('the script gets the JSON on stdin and SESAME_EVENT', async (t) => {
  mkdirSync(out);
  const s = openSinks({ node: 'bastion-1', log: (l) => t.fail(l), command: recorder, queue: fast });
  const wall = Date.now();
  const grant: SesameEvent = { type: 'grant', door: 'ssh', kind: 'knock', address: '192.0.2.7', ports: ['tcp/22'], seconds: 30 };
  s.send(grant, wall);
  s.send({ type: 'ban', door: 'ssh', address: '198.51.100.1', seconds: 60, failures: 3 }, wall);
  s.send({ type: 'stage', door: 'ssh', stage: 1 }, wall);
  await until(() => s.stats()[0]!.delivered === 2);
  const files = readdirSync(out).sort();
  t.equal(files.length, 4, 'two events, two files each; no stage');
  // Each file is named by its SESAME_DELIVERY, the id the body carries too.
  const bodies = files.filter((f) => f.endsWith('.json'))
    .map((f) => ({ delivery: f.slice(0, -'.json'.length), text: readFileSync(join(out, f), 'utf8') }));
  t.ok(bodies.some((b) => b.text === eventBody(grant, { wallMs: wall, node: 'bastion-1', delivery: b.delivery })), 'the grant, byte for byte');
  const envs = files.filter((f) => f.endsWith('.env')).map((f) => readFileSync(join(out, f), 'utf8')).sort();
  t.same(envs, ['ban ', 'grant '], 'SESAME_EVENT set; the daemon\'s environment (HOME) not passed');
  for (const f of files.filter((x) => x.endsWith('.json'))) t.match(f, /^[0-9a-f-]{36}\.json$/, 'SESAME_DELIVERY set');
  await s.close();
  t.same(s.stats(), [{ sink: 'command', delivered: 2, dropped: 0 }]);
});

t.test('shell metacharacters are not interpreted: in the event, in the path', async (t) => {
  const seen = join(dir, 'seen.json');
  const pwned = join(dir, 'pwned');
  // Through a shell this path would be split at the ';' and its first word, 'hook', not found.
  const odd = script("hook; echo 'x' $(false) `true` |x", `cat > "${seen}"`);
  const detail = `$(touch ${pwned}) \`touch ${pwned}\`; touch ${pwned} | rm -rf / && echo '"' \n`;
  const s = openSinks({ node: 'n', log: (l) => t.fail(l), command: odd, queue: fast });
  const e: SesameEvent = { type: 'firewall-repaired', what: 'table', detail };
  s.send(e, 1_700_000_000_000);
  await until(() => s.stats()[0]!.delivered === 1);
  await s.close();
  t.equal(JSON.parse(readFileSync(seen, 'utf8')).detail, detail, 'the text arrives verbatim');
  t.same(readdirSync(dir).filter((f) => f.startsWith('pwned')), [], 'nothing ran');
  t.notOk(existsSync(pwned));
});

t.test('a command that hangs is killed with its children at the timeout, and counted', async (t) => {
  const pids = join(dir, 'pids');
  const hang = script('hang', `sleep 30 &\necho $$ $! > "${pids}"\nwait`);
  const lines: string[] = [];
  const s = openSinks({ node: 'n', log: (l) => lines.push(l), command: hang, queue: { timeoutMs: 300, attempts: 1 } });
  const t0 = Date.now();
  s.send({ type: 'fleet-redis', up: false }, Date.now());
  await until(() => s.dropped === 1);
  t.ok(Date.now() - t0 < 2000, `given up after ${Date.now() - t0} ms`);
  t.match(lines[0], /^event command: delivery failed \(timed out after 300 ms\); 1 events dropped so far$/);
  const [sh, sleep] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
  await until(() => gone(sh!) && gone(sleep!), 3000);
  t.pass('the script and its sleep are gone');
  await s.close();
});

t.test('a failing or missing command: retried, then dropped', async (t) => {
  const count = join(dir, 'count');
  const fail = script('fail', `echo x >> "${count}"\necho oops >&2\nexit 3`);
  const lines: string[] = [];
  const s = openSinks({ node: 'n', log: (l) => lines.push(l), command: fail, queue: fast });
  s.send({ type: 'fleet-redis', up: true }, Date.now());
  await until(() => s.dropped === 1);
  t.equal(readFileSync(count, 'utf8'), 'x\n'.repeat(5), '5 attempts');
  t.match(lines[0], /delivery failed \(exit status 3\)/);
  await s.close();
  const missing = openSinks({ node: 'n', log: (l) => lines.push(l), command: join(dir, 'no-such-hook'), queue: fast });
  missing.send({ type: 'fleet-redis', up: true }, Date.now());
  await until(() => missing.dropped === 1);
  t.match(lines.at(-1), /ENOENT/);
  await missing.close();
});

t.test('output is read and dropped, bounded', async (t) => {
  const loud = script('loud', 'head -c 3000000 /dev/zero\nhead -c 100000 /dev/zero >&2\nexit 0');
  const ac = new AbortController();
  await runEventCommand(loud, { type: 'grant', delivery: 'd', body: '{}' }, ac.signal);
  t.pass('finished');
  const quiet = script('quiet', 'exit 0');
  await runEventCommand(quiet, { type: 'grant', delivery: 'd', body: 'x'.repeat(1 << 20) }, ac.signal);
  t.pass('a command that does not read stdin still succeeds');
  ac.abort();
  await t.rejects(runEventCommand(quiet, { type: 'grant', delivery: 'd', body: '' }, ac.signal), /aborted/);
});
