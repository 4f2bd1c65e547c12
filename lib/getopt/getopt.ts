// getopt_long, as knockd's glibc reads its command line: short options grouped (`-vc FILE`),
// `--name VALUE` and `--name=VALUE`, GNU permutation (options may follow operands), `--` ends the
// options, an option that takes a value takes the next word whatever it is. Repeated options
// collect every value in order. Written out here rather than with yargs for the daemon: yargs
// and its helpers hold ~7.5 MB of a daemon that idles in ~60 MB (the clients keep yargs).

import { expandShortGroups } from './short-groups.js';
import { names, takesValue, type OptionSpec, type ParsedOptions } from './option-table.js';

export function parseGetopt(argv: readonly string[], table: readonly OptionSpec[]): ParsedOptions {
  const byWord = new Map<string, OptionSpec>();
  for (const o of table) for (const n of names(o)) byWord.set(n.length === 1 ? `-${n}` : `--${n}`, o);
  const shortWithArg = new Set(table.filter(takesValue).flatMap(names).filter((n) => n.length === 1));
  const words = expandShortGroups(argv, shortWithArg);
  const values: Record<string, unknown> = { _: [] as string[] };
  const put = (o: OptionSpec, v: unknown) => {
    const prev = values[o.name];
    values[o.name] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  };
  let failure: string | undefined;
  for (let i = 0; i < words.length && failure === undefined; i++) {
    const w = words[i]!;
    if (w === '--') { (values['_'] as string[]).push(...words.slice(i + 1)); break; }
    if (!w.startsWith('-') || w === '-') { (values['_'] as string[]).push(w); continue; }
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const word = eq === -1 ? w : w.slice(0, eq);
    const o = byWord.get(word);
    if (!o) { failure = `Unknown argument: ${word.replace(/^-+/, '')}`; break; }
    if (o.type === 'boolean') {
      if (eq !== -1) { failure = `Option ${word} takes no value`; break; }
      put(o, true);
      continue;
    }
    let v: string | undefined;
    if (eq !== -1) v = w.slice(eq + 1);
    else if (!o.optionalValue && i + 1 < words.length) v = words[++i];
    if (v === undefined && !o.optionalValue) { failure = `Not enough arguments following: ${o.name}`; break; }
    put(o, o.type === 'number' ? Number(v) : v ?? '');
  }
  return { values, words, failure };
}
