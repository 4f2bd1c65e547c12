// State files (pending stop commands, replay digests) are read only when they belong to the daemon
// and nobody else can write them; owner and mode come from the descriptor that is read.

import t from 'tap';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrustedFile } from '../../lib/fs/trusted-read.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-trusted-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, mode: number, text = '{"a":1}') => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};

t.test('an owner-only file is read', async (t) => {
  t.same(readTrustedFile(file('ok', 0o600)), { text: '{"a":1}' });
  t.same(readTrustedFile(file('readable', 0o644)), { text: '{"a":1}' }, 'readable by others is fine');
});

t.test('writable by group or others: ignored, with the reason', async (t) => {
  for (const [name, mode] of [['g', 0o620], ['o', 0o602], ['all', 0o666]] as const) {
    const p = file(name, mode);
    t.same(readTrustedFile(p), { problem: `${p}: not owned by us or writable by others; ignored` }, name);
  }
});

t.test('owned by another user: ignored', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async (t) => {
  const p = file('theirs', 0o600);
  chownSync(p, 65534, 65534);
  t.same(readTrustedFile(p), { problem: `${p}: not owned by us or writable by others; ignored` });
});

t.test('a link is judged by the file it reaches', async (t) => {
  const target = file('target', 0o666);
  const link = join(dir, 'link');
  symlinkSync(target, link);
  t.match(readTrustedFile(link), { problem: /not owned by us or writable by others/ });
});

t.test('missing, a directory, a FIFO-like non-file: not read', async (t) => {
  t.same(readTrustedFile(join(dir, 'nope')), { missing: true });
  const d = join(dir, 'adir');
  mkdirSync(d);
  t.match(readTrustedFile(d), { problem: /Is a directory/ });
  t.match(readTrustedFile('/dev/null'), { problem: /character device, not a regular file/ });
});

t.test('readSecretFile: only its owner may read it; the mode is named', async (t) => {
  const { readSecretFile } = await import('../../lib/fs/trusted-read.js');
  const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sesame-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'pw');
  writeFileSync(p, 'secret\n');
  for (const [mode, ok] of [[0o600, true], [0o400, true], [0o640, false], [0o604, false], [0o644, false]] as const) {
    chmodSync(p, mode);
    const r = readSecretFile(p);
    if (ok) t.same(r, { text: 'secret\n' }, mode.toString(8));
    else t.same(r, { problem: `${p}: mode 0${mode.toString(8)} lets group or others read it (chmod 600 it)` }, mode.toString(8));
  }
  t.same(readSecretFile(join(dir, 'none')), { missing: true });
});
