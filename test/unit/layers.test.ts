// The layer order of lib/ (docs/architecture.md "Layers", .dependency-cruiser.cjs): no import runs upward and
// none forms a circle, the Redis client is only loaded by import(), and the pure modules stay pure
// (no I/O module, no package, only pure modules at run time). A fixture with one of each shows that
// the check does catch them.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const depcruise = (cwd: string) => spawnSync(join(ROOT, 'node_modules/.bin/depcruise'), ['lib', '--config', CONFIG, '--output-type', 'err'],
  { cwd, encoding: 'utf8' });

t.test('lib/ keeps its layers and has no circles', async (t) => {
  const r = depcruise(ROOT);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /no dependency violations found \(\d+ modules/);
});

t.test('the check catches an upward import and a circle', async (t) => {
  const r = depcruise(join(ROOT, 'test/fixtures/layers'));
  t.not(r.status, 0);
  t.match(r.stdout, 'error layer-config: lib/config/upward.ts → lib/daemon/opts.ts');
  t.match(r.stdout, /error no-circular: lib\/fs\/a\.ts →\s+lib\/fs\/b\.ts/);
  t.match(r.stdout, 'error redis-client-lazy: lib/daemon/eager.ts → lib/fleet/link.ts');
  t.notMatch(r.stdout, 'lib/daemon/lazy.ts', 'a type import and import() are allowed');
});

t.test('the purity rule: a pure folder imports no I/O module, no package, nothing impure at run time', async (t) => {
  const r = depcruise(join(ROOT, 'test/fixtures/layers'));
  t.match(r.stdout, 'error pure-no-io: lib/engine/io.ts → fs', 'node:fs in the engine');
  t.notMatch(r.stdout, /lib\/engine\/io\.ts → crypto/, '... while node:crypto is allowed');
  t.match(r.stdout, /error pure-no-packages: lib\/engine\/pkg\.ts → \S*winston/, 'an npm package in the engine');
  t.match(r.stdout, 'error pure-imports-pure: lib/engine/impure.ts → lib/capture/reader.ts', 'an impure module of a lower layer');
  t.notMatch(r.stdout, 'lib/engine/typed.ts', 'a type-only import of an impure module is allowed');
});

t.test('the fleet session is pure, while the I/O files beside it in lib/fleet are not held to it', async (t) => {
  const r = depcruise(join(ROOT, 'test/fixtures/layers'));
  t.match(r.stdout, 'error pure-no-io: lib/fleet/session.ts → os', 'node:os in the session');
  t.match(r.stdout, 'error pure-no-io: lib/fleet/session-asks.ts → fs', 'node:fs in a session-* file');
  t.match(r.stdout, 'error pure-imports-pure: lib/fleet/session.ts → lib/fleet/link.ts', 'the Redis link at run time');
  t.notMatch(r.stdout, 'lib/fleet/key-file.ts', 'key-file.ts reads a file: not in PURE');
});
