// One option table per command line, read the getopt way: short options grouped (`-vA tcp/22`),
// GNU permutation, the last value of a repeated option wins, unknown options fail. knock, knock
// --spa and knockd each declare a table; the short/long sets that take a value derive from it.
// The clients read theirs with yargs (yargs-options.ts), the daemon with getopt.ts.


export interface OptionSpec {
  /** The key the parsed value is stored under (a letter, or a long name). */
  readonly name: string;
  readonly alias?: string | readonly string[];
  readonly type: 'boolean' | 'string' | 'number';
  /** A string option whose value may be left out (`--fwknoprc` alone): never groups a value. */
  readonly optionalValue?: boolean;
}

export interface ParsedOptions {
  /** yargs' result: `_` holds the operands. */
  readonly values: Record<string, unknown>;
  /** argv with short groups expanded. */
  readonly words: readonly string[];
  /** yargs' complaint for a bad command line, if any. */
  readonly failure: string | undefined;
}

export const names = (o: OptionSpec) => [o.name, ...(o.alias === undefined ? [] : typeof o.alias === 'string' ? [o.alias] : o.alias)];
export const takesValue = (o: OptionSpec) => o.type !== 'boolean' && !o.optionalValue;

/** The words of `table` that take the next word as their value: `-A`, `--access`. */
export function valueWords(table: readonly OptionSpec[]): Set<string> {
  return new Set(table.filter(takesValue).flatMap(names).map((n) => (n.length === 1 ? `-${n}` : `--${n}`)));
}

/** The last value given for a repeatable option, as a string. */
export function lastValue(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v.at(-1) : v;
  return x === undefined ? undefined : String(x);
}

/** Which of `choices` (word → value, e.g. -4/-6) was given last before `--`, skipping option values. */
export function laterOf<T>(words: readonly string[], table: readonly OptionSpec[], choices: Readonly<Record<string, T>>): T | undefined {
  const withValue = valueWords(table);
  let found: T | undefined;
  for (let i = 0; i < words.length; i++) {
    const a = words[i]!;
    if (a === '--') break;
    if (withValue.has(a)) { i++; continue; }
    if (Object.hasOwn(choices, a)) found = choices[a];
  }
  return found;
}

/** -4/-6 and their long names, for laterOf: knock and fwknop take the later one. */
export const FAMILY_WORDS: Readonly<Record<string, 4 | 6>> = { '-4': 4, '--ipv4': 4, '-6': 6, '--ipv6': 6 };
