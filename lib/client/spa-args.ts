// The command line of `knock --spa` and `knock --spa-keygen`. Options take fwknop's letters and
// long names where they do not clash with knock's; knock's own options keep their meaning:
//   fwknop's -s/--source-ip (a flag: allow the packet's source) is -s here too, so knock's
//   "-s ADDR" (send from ADDR) is the long --source ADDR in SPA mode;
//   fwknop's -U/--spoof-user sets the user name (knock's -u means UDP; SPA is UDP anyway, so -u
//   is accepted and changes nothing); -d/--delay (between hits) has no meaning for one packet.

import { FAMILY_WORDS, laterOf, lastValue, type OptionSpec } from '../getopt/option-table.js';
import { parseOptions } from '../getopt/yargs-options.js';
import type { Raw } from './fwknoprc.js';
import type { SpaSettings } from './spa-request.js';

export interface SpaCli {
  /** Settings given on the command line; they replace the rc file's. */
  readonly settings: SpaSettings;
  /** --fwknoprc / --rc-file / -n given: read the rc file (path '' = the default ~/.fwknoprc). */
  readonly rcFile: string | undefined;
  readonly stanza: string | undefined;
  readonly verbose: boolean;
  readonly iface: string | undefined;
  readonly bindAddress: string | undefined;
}

export type SpaArgsResult =
  | { kind: 'run'; args: SpaCli }
  | { kind: 'keygen'; hmacDigest: Raw | undefined }
  | { kind: 'usage' }
  | { kind: 'version' }
  | { kind: 'bad'; message: string };

const TABLE: readonly OptionSpec[] = [
  { name: 'spa', type: 'boolean' },
  { name: 'spa-keygen', type: 'boolean' },
  { name: 'access', alias: 'A', type: 'string' },
  { name: 'allow-ip', alias: 'a', type: 'string' },
  { name: 'source-ip', alias: 's', type: 'boolean' },
  { name: 'destination', alias: 'D', type: 'string' },
  { name: 'server-port', alias: 'p', type: 'string' },
  { name: 'server-proto', alias: 'P', type: 'string' },
  { name: 'source-port', alias: 'S', type: 'string' },
  { name: 'fw-timeout', alias: 'f', type: 'string' },
  { name: 'spoof-user', alias: 'U', type: 'string' },
  { name: 'key', alias: 'key-rijndael', type: 'string' },
  { name: 'key-base64', alias: 'key-base64-rijndael', type: 'string' },
  { name: 'hmac-key', alias: 'key-hmac', type: 'string' },
  { name: 'hmac-key-base64', alias: 'key-base64-hmac', type: 'string' },
  { name: 'hmac-digest', alias: 'hmac-digest-type', type: 'string' },
  { name: 'digest', alias: ['m', 'digest-type'], type: 'string' },
  { name: 'encryption-mode', alias: 'M', type: 'string' },
  { name: 'time-offset-plus', type: 'string' },
  { name: 'time-offset-minus', type: 'string' },
  { name: 'use-hmac', type: 'boolean' },
  { name: 'gpg-encryption', alias: 'g', type: 'boolean' },
  { name: 'gpg-recipient-key', alias: 'gpg-recipient', type: 'string' },
  { name: 'gpg-signer-key', alias: 'gpg-signer', type: 'string' },
  { name: 'gpg-home-dir', type: 'string' },
  { name: 'gpg-no-signing-pw', type: 'boolean' },
  { name: 'gpg-agent', type: 'boolean' },
  { name: 'gpg-exe', type: 'string' },
  { name: 'nat-access', alias: 'N', type: 'string' },
  { name: 'nat-local', type: 'boolean' },
  { name: 'nat-port', type: 'string' },
  { name: 'nat-rand-port', type: 'boolean' },
  { name: 'fwknoprc', type: 'string', optionalValue: true },
  { name: 'rc-file', type: 'string' },
  { name: 'named-config', alias: 'n', type: 'string' },
  { name: 'interface', alias: 'i', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'delay', alias: 'd', type: 'string' },
  { name: 'udp', alias: 'u', type: 'boolean' },
  { name: '4', alias: 'ipv4', type: 'boolean' },
  { name: '6', alias: 'ipv6', type: 'boolean' },
  { name: 'verbose', alias: 'v', type: 'boolean' },
  { name: 'V', alias: 'version', type: 'boolean' },
  { name: 'h', alias: 'help', type: 'boolean' },
];

/** Options that set a packet setting as given: the option, the setting, the name shown in messages. */
const SETTINGS: ReadonlyArray<readonly [string, keyof SpaSettings, string]> = [
  ['server-port', 'port', '-p/--server-port'],
  ['server-proto', 'proto', '-P/--server-proto'],
  ['source-port', 'sourcePort', '-S/--source-port'],
  ['access', 'access', '-A/--access'],
  ['allow-ip', 'allow', '-a/--allow-ip'],
  ['key', 'key', '--key'],
  ['key-base64', 'keyBase64', '--key-base64'],
  ['hmac-key', 'hmacKey', '--hmac-key'],
  ['hmac-key-base64', 'hmacKeyBase64', '--hmac-key-base64'],
  ['hmac-digest', 'hmacDigest', '--hmac-digest'],
  ['digest', 'digest', '--digest'],
  ['encryption-mode', 'mode', '-M/--encryption-mode'],
  ['fw-timeout', 'timeout', '-f/--fw-timeout'],
  ['spoof-user', 'user', '-U/--spoof-user'],
  ['time-offset-plus', 'timeOffsetPlus', '--time-offset-plus'],
  ['time-offset-minus', 'timeOffsetMinus', '--time-offset-minus'],
  ['nat-access', 'natAccess', '-N/--nat-access'],
  ['nat-port', 'natPort', '--nat-port'],
  ['gpg-recipient-key', 'gpgRecipient', '--gpg-recipient-key'],
  ['gpg-signer-key', 'gpgSigner', '--gpg-signer-key'],
  ['gpg-home-dir', 'gpgHomeDir', '--gpg-home-dir'],
  ['gpg-exe', 'gpgExe', '--gpg-exe'],
];

/** Flags that set a Y/N setting to Y: the option, the setting. */
const FLAGS: ReadonlyArray<readonly [string, keyof SpaSettings]> = [
  ['nat-local', 'natLocal'], ['nat-rand-port', 'natRandPort'], ['use-hmac', 'useHmac'],
  ['gpg-encryption', 'gpg'], ['gpg-no-signing-pw', 'gpgNoSigningPw'], ['gpg-agent', 'gpgAgent'],
];

/** Options that exclude each other, and what to say. */
const EXCLUSIVE: ReadonlyArray<readonly [string, string, string]> = [
  ['allow-ip', 'source-ip', 'give -a IP or -s, not both (-a puts IP in the packet; -s asks the server to allow the packet\'s source)'],
  ['key', 'key-base64', 'give --key or --key-base64, not both'],
  ['hmac-key', 'hmac-key-base64', 'give --hmac-key or --hmac-key-base64, not both'],
  ['fwknoprc', 'rc-file', 'give --fwknoprc or --rc-file, not both'],
  ['interface', 'source', 'give --interface or --source, not both'],
  ['nat-access', 'nat-local', 'give -N HOST:PORT (forward to an internal host) or --nat-local (a port of the server), not both'],
  ['nat-port', 'nat-rand-port', 'give --nat-port PORT or --nat-rand-port, not both'],
];

/** True when the words ask for SPA mode (`--spa` or `--spa-keygen` before any `--`). */
export function wantsSpa(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--spa' || a === '--spa-keygen') return true;
  }
  return false;
}

export function parseSpaArgs(argv: readonly string[]): SpaArgsResult {
  const { values: p, words, failure } = parseOptions(argv, TABLE);
  if (failure !== undefined) return { kind: 'bad', message: `knock: ${failure}` };
  if (p['h']) return { kind: 'usage' };
  if (p['V']) return { kind: 'version' };
  const isSet = (k: string) => p[k] !== undefined && p[k] !== false;
  /** The value of an option with the name the user typed, for messages. */
  const given = (key: string, shown: string): Raw | undefined => {
    const v = lastValue(p[key]);
    return v === undefined ? undefined : { text: v, origin: shown, cli: true };
  };
  const positional = ((p['_'] as unknown[] | undefined) ?? []).map(String);

  if (p['spa-keygen']) {
    const extra = Object.keys(p).filter((k) => !['_', '$0', 'spa-keygen', 'spa', 'hmac-digest'].includes(k) && isSet(k));
    if (extra.length || positional.length) return { kind: 'bad', message: 'knock: --spa-keygen takes only --hmac-digest DIGEST' };
    return { kind: 'keygen', hmacDigest: given('hmac-digest', '--hmac-digest') };
  }
  if (p['delay'] !== undefined) return { kind: 'bad', message: 'knock: -d/--delay is for knock sequences; --spa sends a single packet' };
  const clash = EXCLUSIVE.find(([a, b]) => isSet(a) && isSet(b));
  if (clash) return { kind: 'bad', message: `knock: ${clash[2]}` };

  const host = given('destination', '-D/--destination');
  if (positional.length > 1 || (host && positional.length)) {
    const hint = p['source-ip']
      ? ' (with --spa, -s takes no value: it is fwknop\'s --source-ip; send from an address with --source ADDR)'
      : '';
    return { kind: 'bad', message: `knock: --spa sends to one host; unexpected "${positional.slice(host ? 0 : 1).join(' ')}"${hint}` };
  }
  const positionalHost = positional[0] !== undefined ? { text: positional[0], origin: `host "${positional[0]}"`, cli: true } : undefined;
  return { kind: 'run', args: cliFrom(p, given, host ?? positionalHost, words) };
}

/** The settings and choices of a command line that passed the checks. */
function cliFrom(p: Record<string, unknown>, given: (key: string, shown: string) => Raw | undefined, host: Raw | undefined,
  words: readonly string[]): SpaCli {
  const settings: SpaSettings = {};
  if (host) settings.host = host;
  for (const [option, setting, shown] of SETTINGS) {
    const r = given(option, shown);
    if (r) settings[setting] = r;
  }
  if (!settings.allow && p['source-ip']) settings.allow = { text: 'source', origin: '-s', cli: true };
  for (const [option, setting] of FLAGS) if (p[option]) settings[setting] = { text: 'Y', origin: `--${option}`, cli: true };
  // The later of -4/-6 wins, as in knock.
  const family = laterOf(words, TABLE, FAMILY_WORDS);
  if (family) settings.family = { text: String(family), origin: `-${family}`, cli: true };
  const stanza = lastValue(p['named-config']);
  let rcFile = lastValue(p['rc-file']) ?? lastValue(p['fwknoprc']);
  if (rcFile === undefined && stanza !== undefined) rcFile = '';
  return {
    settings, rcFile, stanza, verbose: Boolean(p['verbose']),
    iface: lastValue(p['interface']), bindAddress: lastValue(p['source']),
  };
}
