// An option table read with yargs, for the clients (knock, knock --spa): short groups expanded the
// getopt way first, strict options, no camel-case or --no- expansion, values kept as text.

import yargs from 'yargs';
import { expandShortGroups } from './short-groups.js';
import { names, takesValue, type OptionSpec, type ParsedOptions } from './option-table.js';

const BASE_CONFIG = {
  'camel-case-expansion': false, 'boolean-negation': false, 'strip-aliased': true,
  'parse-numbers': false, 'parse-positional-numbers': false,
};

export function parseOptions(argv: readonly string[], table: readonly OptionSpec[], config: Record<string, boolean> = {}): ParsedOptions {
  const shortWithArg = new Set(table.filter(takesValue).flatMap(names).filter((n) => n.length === 1));
  const words = expandShortGroups(argv, shortWithArg);
  let failure: string | undefined;
  let p = yargs(words).version(false).help(false).parserConfiguration({ ...BASE_CONFIG, ...config });
  for (const o of table) {
    const alias = o.alias === undefined ? undefined : typeof o.alias === 'string' ? o.alias : [...o.alias];
    p = p.option(o.name, { alias, type: o.type, requiresArg: takesValue(o) });
  }
  const values = p.strictOptions().exitProcess(false).fail((m) => { failure = m; }).parseSync() as Record<string, unknown>;
  return { values, words, failure };
}
