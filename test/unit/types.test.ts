// The tests are TypeScript too: tsconfig.test.json type-checks lib/ and test/ together, so a type
// renamed in lib/ cannot leave a test building objects of its old shape (tap runs tests untyped).

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

t.test('lib/ and test/ type-check together', async (t) => {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.stdout + r.stderr, '', 'no type errors');
  t.equal(r.status, 0);
});
