// knockd's command line (getopt "4vDdli:c:p:g:hV" and its long names) read with yargs.
// As in knockd, an unknown option prints the usage and exits 0; -h and -V exit 0.

import { DEFAULTS } from '../config/types.js';
import { lastValue, type OptionSpec } from '../getopt/option-table.js';
import { parseGetopt } from '../getopt/getopt.js';
import { DEFAULT_MAX_ATTEMPTS } from '../matcher/matcher.js';
import { DEFAULT_STATE_DIR, type DaemonOptions } from '../daemon/options.js';

/** An instance name becomes part of an nft table name ('-' written as '_') and a directory name. */
const INSTANCE_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** The daemon's options plus knockd's one-shot modes. */
export interface KnockdArgs extends DaemonOptions {
  readonly check: boolean;
  /** List live firewall grants (Sesame). */
  readonly status: boolean;
  /** Remove Sesame's firewall table: guards and grants (Sesame). */
  readonly flush: boolean;
  /** Print a TOTP door's otpauth URI and QR code (Sesame). */
  readonly provision: string | undefined;
  /** With provision: write a fresh secret first. */
  readonly newSecret: boolean;
}

export type ArgsResult =
  | { kind: 'run'; args: KnockdArgs }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'bad'; message: string };

const last = lastValue;

function all(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

export function parseKnockdArgs(argv: readonly string[], prog = 'knockd'): ArgsResult {
  const { values: parsed, failure } = parseGetopt(argv, TABLE);

  if (failure !== undefined) return { kind: 'bad', message: getoptMessage(argv, prog) ?? `${prog}: ${failure}` };
  if (parsed['h']) return { kind: 'help' };
  if (parsed['V']) return { kind: 'version' };
  const max = maxAttempts(parsed['max-attempts']);
  if (!Number.isInteger(max) || max < 1) return { kind: 'bad', message: `${prog}: --max-attempts needs a positive whole number` };
  const instance = last(parsed['instance']);
  if (instance !== undefined && !INSTANCE_NAME.test(instance)) {
    return { kind: 'bad', message: `${prog}: --instance needs a name of 1 to 32 letters, digits, '_' or '-'` };
  }
  const matching = last(parsed['matching']);
  if (matching !== undefined && matching !== 'kernel' && matching !== 'pcap' && matching !== 'auto') {
    return { kind: 'bad', message: `${prog}: --matching must be kernel, pcap or auto` };
  }
  const bool = (k: string) => Boolean(Array.isArray(parsed[k]) ? (parsed[k] as unknown[]).at(-1) : parsed[k]);
  const provision = last(parsed['provision']);
  if (bool('new-secret') && provision === undefined) return { kind: 'bad', message: `${prog}: --new-secret needs --provision DOOR` };
  return {
    kind: 'run',
    args: {
      config: last(parsed['c']) ?? DEFAULTS.configFile,
      interfaces: all(parsed['i']),
      daemon: bool('d'),
      debug: bool('D'),
      lookup: bool('l'),
      pidFile: last(parsed['p']),
      logFile: last(parsed['g']),
      verbose: bool('v'),
      onlyIPv4: bool('4'),
      check: bool('check'),
      status: bool('status'),
      flush: bool('flush'),
      provision,
      newSecret: bool('new-secret'),
      stateDir: last(parsed['state-dir']) ?? (instance === undefined ? DEFAULT_STATE_DIR : `${DEFAULT_STATE_DIR}/${instance}`),
      instance,
      maxAttempts: max,
      matching,
    },
  };
}

const TABLE: readonly OptionSpec[] = [
  { name: 'i', alias: 'interface', type: 'string' },
  { name: 'c', alias: 'config', type: 'string' },
  { name: 'p', alias: 'pidfile', type: 'string' },
  { name: 'g', alias: 'logfile', type: 'string' },
  { name: 'd', alias: 'daemon', type: 'boolean' },
  { name: 'D', alias: 'debug', type: 'boolean' },
  { name: 'l', alias: 'lookup', type: 'boolean' },
  { name: 'v', alias: 'verbose', type: 'boolean' },
  { name: '4', alias: 'only-ip-v4', type: 'boolean' },
  { name: 'V', alias: 'version', type: 'boolean' },
  { name: 'h', alias: 'help', type: 'boolean' },
  { name: 'check', type: 'boolean' },
  { name: 'status', type: 'boolean' },
  { name: 'flush', type: 'boolean' },
  { name: 'state-dir', type: 'string' },
  { name: 'max-attempts', type: 'number' },
  { name: 'instance', type: 'string' },
  { name: 'matching', type: 'string' },
  { name: 'provision', type: 'string' },
  { name: 'new-secret', type: 'boolean' },
];
const SHORT_WITH_ARG = new Set(TABLE.filter((o) => o.type !== 'boolean' && o.name.length === 1).map((o) => o.name));
const SHORT_FLAGS = new Set(TABLE.filter((o) => o.type === 'boolean' && o.name.length === 1).map((o) => o.name));
const LONG = new Set(TABLE.map((o) => (o.name.length === 1 ? String(o.alias) : o.name)));
const LONG_WITH_ARG = new Set(TABLE.filter((o) => o.type !== 'boolean').map((o) => (o.name.length === 1 ? String(o.alias) : o.name)));

function maxAttempts(v: unknown): number {
  const n = Number(Array.isArray(v) ? v.at(-1) : v);
  return v === undefined ? DEFAULT_MAX_ATTEMPTS : n;
}

/** The complaint glibc's getopt would print for the first bad option, as knockd shows it. */
function getoptMessage(argv: readonly string[], prog: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0]!;
      if (!LONG.has(name)) return `${prog}: unrecognized option '${a}'`;
      if (LONG_WITH_ARG.has(name) && !a.includes('=') && i + 1 >= argv.length) {
        return `${prog}: option '--${name}' requires an argument`;
      }
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (SHORT_WITH_ARG.has(c)) {
          if (j === a.length - 1 && i + 1 >= argv.length) return `${prog}: option requires an argument -- '${c}'`;
          break;
        }
        if (!SHORT_FLAGS.has(c)) return `${prog}: invalid option -- '${c}'`;
      }
    }
  }
  return undefined;
}
