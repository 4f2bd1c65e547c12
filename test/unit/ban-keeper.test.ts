// The shell's ban keeper: bans made in a burst cost one bans.json write and one kernel script,
// and shutdown writes what is pending.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BanKeeper } from '../../lib/daemon/ban-keeper.js';
import { BanStore } from '../../lib/daemon/state.js';
import type { Ban } from '../../lib/matcher/bans.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-bans-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a burst of bans: one write, one kernel batch', async (t) => {
  const store = new BanStore(dir, (m) => t.fail(m));
  const saves: number[] = [];
  const save = store.save.bind(store);
  store.save = (b) => { saves.push(b.length); return save(b); };
  const inForce: Ban[] = [];
  const batches: number[] = [];
  const keeper = new BanKeeper(store, () => inForce, (b) => batches.push(b.length), 20);
  for (let i = 0; i < 1000; i++) {
    const ban = { src: `10.0.${i >> 8}.${i & 255}`, door: 'd', until: Date.now() + 60_000, failures: 3 };
    inForce.push(ban);
    keeper.add(ban);
  }
  t.same(saves, [], 'nothing written at once');
  await new Promise((r) => setTimeout(r, 60));
  t.same(saves, [1000], 'one write of all of them');
  t.same(batches, [1000], 'one kernel batch');
  t.equal(JSON.parse(readFileSync(store.path, 'utf8')).bans.length, 1000);
  const more = { src: '192.0.2.1', door: 'd', until: Date.now() + 60_000, failures: 3 };
  inForce.push(more);
  keeper.add(more);
  keeper.flush();
  t.same(saves, [1000, 1001], 'flush writes at once (shutdown)');
  t.same(batches, [1000, 1]);
  keeper.flush();
  t.same(saves, [1000, 1001], 'nothing pending: nothing written');
  const loaded = new BanStore(dir, () => {}).load();
  t.equal(loaded.length, 1001, 'read back');
});
