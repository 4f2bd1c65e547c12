// knock's command line (getopt "vud:hV46", GNU permutation: options may follow the arguments),
// read with yargs, plus Sesame's -i/--interface and -s/--source, and --totp with its companions.

import { FAMILY_WORDS, laterOf, lastValue, type OptionSpec } from '../getopt/option-table.js';
import { parseOptions } from '../getopt/yargs-options.js';

export interface KnockArgs {
  readonly udp: boolean;
  readonly delay: number;
  readonly family: 0 | 4 | 6;
  readonly verbose: boolean;
  readonly iface: string | undefined;
  readonly source: string | undefined;
  readonly positional: readonly string[];
  /** --totp FILE, --digits, --port-base (each undefined when not given) and --totp-ports (print, do not send). */
  readonly totp: KnockTotpArgs;
  /** Which of udp/delay/family were given, so a profile's values apply only where they were not. */
  readonly given: ReadonlySet<'udp' | 'delay' | 'family'>;
}

export interface KnockTotpArgs {
  readonly path: string | undefined;
  readonly digits: string | undefined;
  readonly portBase: string | undefined;
  readonly printOnly: boolean;
}

export type KnockArgsResult =
  | { kind: 'run'; args: KnockArgs }
  | { kind: 'usage' }
  | { kind: 'version' }
  | { kind: 'bad'; message: string };

const TABLE: readonly OptionSpec[] = [
  { name: 'u', alias: 'udp', type: 'boolean' },
  { name: 'd', alias: 'delay', type: 'string' },
  { name: '4', alias: 'ipv4', type: 'boolean' },
  { name: '6', alias: 'ipv6', type: 'boolean' },
  { name: 'v', alias: 'verbose', type: 'boolean' },
  { name: 'V', alias: 'version', type: 'boolean' },
  { name: 'h', alias: 'help', type: 'boolean' },
  { name: 'i', alias: 'interface', type: 'string' },
  { name: 's', alias: 'source', type: 'string' },
  { name: 'totp', type: 'string' },
  { name: 'digits', type: 'string' },
  { name: 'port-base', type: 'string' },
  { name: 'totp-ports', type: 'boolean' },
];

export function parseKnockArgs(argv: readonly string[]): KnockArgsResult {
  const { values: p, words, failure } = parseOptions(argv, TABLE);
  if (failure !== undefined) return { kind: 'bad', message: `knock: ${failure}` };
  if (p['h']) return { kind: 'usage' };
  if (p['V']) return { kind: 'version' };
  const given = new Set<'udp' | 'delay' | 'family'>();
  let delay = 0;
  const d = lastValue(p['d']);
  if (d !== undefined) {
    given.add('delay');
    if (!/^-?\d+$/.test(d.trim())) return { kind: 'bad', message: `knock: invalid delay '${d}' (milliseconds)` };
    delay = Number(d.trim());
    if (delay < 0) return { kind: 'bad', message: 'error: delay cannot be negative' };
  }
  if (p['u']) given.add('udp');
  // knock: the later of -4/-6 wins; with neither, the resolver picks.
  const family = laterOf<4 | 6>(words, TABLE, FAMILY_WORDS) ?? 0;
  if (family) given.add('family');
  return {
    kind: 'run',
    args: {
      udp: Boolean(p['u']), delay, family, verbose: Boolean(p['v']),
      iface: lastValue(p['i']), source: lastValue(p['s']),
      positional: ((p['_'] as unknown[] | undefined) ?? []).map(String), given,
      totp: {
        path: lastValue(p['totp']), digits: lastValue(p['digits']), portBase: lastValue(p['port-base']),
        printOnly: Boolean(p['totp-ports']),
      },
    },
  };
}
