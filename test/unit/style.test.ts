// The format of .editorconfig, checked: LF line ends, a final newline, no trailing white space,
// spaces for indentation (in lib/), lines within max_line_length (lib/'s own, tighter, for files
// under lib/), in every TypeScript file of lib/ and test/.

import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EDITORCONFIG = readFileSync(join(ROOT, '.editorconfig'), 'utf8');
const MAX = Number(/\[\*\.ts\]\s*\nmax_line_length = (\d+)/.exec(EDITORCONFIG)?.[1]);
const LIB_MAX = Number(/\[lib\/\*\*\.ts\]\s*\nmax_line_length = (\d+)/.exec(EDITORCONFIG)?.[1]);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'node_modules' || n === 'fixtures' ? [] : files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

t.test('every .ts file follows .editorconfig', async (t) => {
  t.ok(MAX > 0, `max_line_length ${MAX}`);
  t.ok(LIB_MAX > 0, `lib max_line_length ${LIB_MAX}`);
  const problems: string[] = [];
  const all = [...files(join(ROOT, 'lib')), ...files(join(ROOT, 'test'))];
  for (const f of all) {
    const text = readFileSync(f, 'utf8');
    const name = relative(ROOT, f);
    if (text.includes('\r')) problems.push(`${name}: CR line ends`);
    if (!text.endsWith('\n')) problems.push(`${name}: no final newline`);
    text.split('\n').forEach((line, i) => {
      if (/[ \t]+$/.test(line)) problems.push(`${name}:${i + 1}: trailing white space`);
      // Tests hold knockd.conf texts indented with tabs inside template literals: data, not code.
      if (/^\t/.test(line) && name.startsWith('lib/')) problems.push(`${name}:${i + 1}: tab indentation`);
      const max = name.startsWith('lib/') ? LIB_MAX : MAX;
      if (line.length > max) problems.push(`${name}:${i + 1}: ${line.length} characters`);
    });
  }
  t.ok(all.length > 100, `${all.length} files`);
  t.same(problems, []);
});
