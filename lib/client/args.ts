// knock's command line (getopt "vud:hV46", GNU permutation: options may follow the arguments),
// read with yargs, plus Sesame's -i/--interface and -s/--source.

import yargs from 'yargs';
import { expandShortGroups } from '../getopt/short-groups.js';

export interface KnockArgs {
  readonly udp: boolean;
  readonly delay: number;
  readonly family: 0 | 4 | 6;
  readonly verbose: boolean;
  readonly iface: string | undefined;
  readonly source: string | undefined;
  readonly positional: readonly string[];
  /** Which of udp/delay/family were given, so a profile's values apply only where they were not. */
  readonly given: ReadonlySet<'udp' | 'delay' | 'family'>;
}

export type KnockArgsResult =
  | { kind: 'run'; args: KnockArgs }
  | { kind: 'usage' }
  | { kind: 'version' }
  | { kind: 'bad'; message: string };

const WITH_ARG = new Set(['d', 'i', 's']);
const LONG_WITH_ARG = new Set(['--delay', '--interface', '--source']);

export function parseKnockArgs(argv: readonly string[]): KnockArgsResult {
  let failure: string | undefined;
  const words = expandShortGroups(argv, WITH_ARG);
  const p = yargs(words)
    .version(false)
    .help(false)
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false, 'strip-aliased': true, 'parse-numbers': false, 'parse-positional-numbers': false })
    .option('u', { alias: 'udp', type: 'boolean' })
    .option('d', { alias: 'delay', type: 'string', requiresArg: true })
    .option('4', { alias: 'ipv4', type: 'boolean' })
    .option('6', { alias: 'ipv6', type: 'boolean' })
    .option('v', { alias: 'verbose', type: 'boolean' })
    .option('V', { alias: 'version', type: 'boolean' })
    .option('h', { alias: 'help', type: 'boolean' })
    .option('i', { alias: 'interface', type: 'string', requiresArg: true })
    .option('s', { alias: 'source', type: 'string', requiresArg: true })
    .strictOptions()
    .exitProcess(false)
    .fail((m) => { failure = m; })
    .parseSync();
  if (failure !== undefined) return { kind: 'bad', message: `knock: ${failure}` };
  if (p['h']) return { kind: 'usage' };
  if (p['V']) return { kind: 'version' };
  const last = (v: unknown) => (Array.isArray(v) ? v.at(-1) : v) as string | undefined;
  const given = new Set<'udp' | 'delay' | 'family'>();
  let delay = 0;
  const d = last(p['d']);
  if (d !== undefined) {
    given.add('delay');
    if (!/^-?\d+$/.test(d.trim())) return { kind: 'bad', message: `knock: invalid delay '${d}' (milliseconds)` };
    delay = Number(d.trim());
    if (delay < 0) return { kind: 'bad', message: 'error: delay cannot be negative' };
  }
  if (p['u']) given.add('udp');
  // knock: the later of -4/-6 wins; with neither, the resolver picks.
  let family: 0 | 4 | 6 = 0;
  for (let i = 0; i < words.length; i++) {
    const a = words[i]!;
    if (a === '--') break;
    if (LONG_WITH_ARG.has(a) || (a.length === 2 && a[0] === '-' && WITH_ARG.has(a[1]!))) { i++; continue; } // skip the value
    if (a === '-4' || a === '--ipv4') family = 4;
    if (a === '-6' || a === '--ipv6') family = 6;
  }
  if (family) given.add('family');
  return {
    kind: 'run',
    args: {
      udp: Boolean(p['u']), delay, family, verbose: Boolean(p['v']),
      iface: last(p['i']), source: last(p['s']),
      positional: (p._ ?? []).map(String), given,
    },
  };
}
