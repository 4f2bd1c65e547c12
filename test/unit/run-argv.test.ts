// Running an allowed command (lib/actions/run-argv.ts, lib/daemon/users.ts): exit status, no
// shell (metacharacters reach the program as plain argv), the timeout kills the whole process
// group, the uid/gid switch drops supplementary groups, the environment is minimal, and users
// are looked up in a passwd file.

import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArgv } from '../../lib/actions/run-argv.js';
import { lookupUser } from '../../lib/daemon/users.js';

const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'sesame-argv-'));
chmodSync(dir, 0o777); // nobody writes here too
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

t.test('exit status, signals, and a program that is not there', async (t) => {
  t.same(await runArgv(['/bin/true'], 5000), { timedOut: false, code: 0 });
  t.same(await runArgv(['/bin/false'], 5000), { timedOut: false, code: 1 });
  t.same(await runArgv(['/bin/sh', '-c', 'exit 42'], 5000), { timedOut: false, code: 42 });
  t.same(await runArgv(['/bin/sh', '-c', 'kill -TERM $$'], 5000), { timedOut: false, signal: 'SIGTERM' });
  const missing = await runArgv([join(dir, 'no-such-program')], 5000);
  t.equal(missing.timedOut, false);
  t.match(missing.error?.message, /ENOENT/);
  t.equal(missing.code, undefined);
  const notExec = join(dir, 'not-exec');
  writeFileSync(notExec, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  t.match((await runArgv([notExec], 5000)).error?.message, /EACCES/);
});

t.test('no shell: an argv word with ; $ | ` is passed literally', async (t) => {
  const weird = join(dir, 'a;touch pwned|$(id)`x`&&b');
  const r = await runArgv(['/usr/bin/touch', weird], 5000);
  t.same(r, { timedOut: false, code: 0 });
  t.ok(existsSync(weird), 'the file with that exact name exists');
  t.notOk(existsSync(join(dir, 'pwned')), 'nothing else ran');
  t.same(readdirSync(dir).sort(), ['a;touch pwned|$(id)`x`&&b', 'not-exec'].sort());
  rmSync(weird);
  const spaced = join(dir, 'two words');
  t.same(await runArgv(['/usr/bin/touch', spaced], 5000), { timedOut: false, code: 0 });
  t.ok(existsSync(spaced), 'a space inside a word is no split');
  rmSync(spaced);
});

t.test('cwd /, a minimal environment', async (t) => {
  const out = join(dir, 'env.txt');
  process.env.SESAME_SECRET_TEST = 'leak';
  t.teardown(() => { delete process.env.SESAME_SECRET_TEST; });
  t.same(await runArgv(['/bin/sh', '-c', `pwd > ${out}; env >> ${out}`], 5000), { timedOut: false, code: 0 });
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(lines[0], '/');
  const env = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.notOk('SESAME_SECRET_TEST' in env, "the daemon's environment is not passed on");
  t.equal(env.LANG, 'C');
  t.equal(env.HOME, '/root');
  t.match(env.PATH, /^\/usr\/local\/sbin:/);
  rmSync(out);
});

t.test('timeout: the whole process group is killed', async (t) => {
  const pids = join(dir, 'pids');
  const t0 = Date.now();
  const r = await runArgv(['/bin/sh', '-c', `sleep 30 & echo $! > ${pids}; sleep 30`], 300);
  const took = Date.now() - t0;
  t.equal(r.timedOut, true);
  t.equal(r.signal, 'SIGKILL');
  t.ok(took < 3000, `returned after ${took} ms`);
  const bg = Number(readFileSync(pids, 'utf8').trim());
  t.ok(bg > 0, `background child ${bg}`);
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    gone = !alive(bg) || /^State:\s+Z/m.test((() => { try { return readFileSync(`/proc/${bg}/status`, 'utf8'); } catch { return ''; } })());
    if (!gone) await new Promise((res) => setTimeout(res, 20));
  }
  t.ok(gone, 'the background sleep died with its group');
  if (!gone) try { process.kill(bg, 'SIGKILL'); } catch { /* gone */ }
  rmSync(pids);
  t.same(await runArgv(['/bin/sleep', '0.05'], 2000), { timedOut: false, code: 0 }, 'a command within its time is not killed');
});

t.test('as another user: uid, gid, no supplementary groups, its home', { skip: !root && 'needs root' }, async (t) => {
  const out = join(dir, 'id.txt');
  const script = join(dir, 'id.sh');
  writeFileSync(script, `#!/bin/sh\n/usr/bin/id -u > ${out}\n/usr/bin/id -g >> ${out}\n/usr/bin/id -G >> ${out}\necho "$HOME" >> ${out}\n`, { mode: 0o755 });
  const r = await runArgv([script], 5000, { uid: 65534, gid: 65534, home: '/nonexistent' });
  t.same(r, { timedOut: false, code: 0 });
  const [uid, gid, groups, home] = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(uid, '65534');
  t.equal(gid, '65534');
  t.equal(groups, '65534', 'supplementary groups dropped (root had 0)');
  t.equal(home, '/nonexistent');
  rmSync(out);
  const denied = join(dir, 'root-only');
  writeFileSync(denied, 'x', { mode: 0o600 });
  t.same(await runArgv(['/bin/cat', denied], 5000, { uid: 65534, gid: 65534, home: '/' }), { timedOut: false, code: 1 }, "root's file is not readable");
});

t.test('lookupUser: names and uids from a passwd file, a bare uid without one', async (t) => {
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'
    + 'svc:x:1001:1002::/:/bin/false\nbroken:x:5\nnohome:x:1003:1003:::/bin/sh\n');
  t.same(lookupUser('nobody', passwd), { uid: 65534, gid: 65534, home: '/nonexistent' });
  t.same(lookupUser('65534', passwd), { uid: 65534, gid: 65534, home: '/nonexistent' }, 'by uid');
  t.same(lookupUser('svc', passwd), { uid: 1001, gid: 1002, home: '/' });
  t.same(lookupUser('nohome', passwd), { uid: 1003, gid: 1003, home: '/' }, 'an empty home is /');
  t.equal(lookupUser('broken', passwd), undefined, 'a short line is skipped');
  t.equal(lookupUser('ghost', passwd), undefined);
  t.same(lookupUser('4242', passwd), { uid: 4242, gid: 4242, home: '/' }, 'a uid no line names');
  t.equal(lookupUser('ghost', join(dir, 'none')), undefined, 'no passwd file');
  t.same(lookupUser('7', join(dir, 'none')), { uid: 7, gid: 7, home: '/' });
});
