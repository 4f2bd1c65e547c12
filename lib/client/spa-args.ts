// The command line of `knock --spa` and `knock --spa-keygen`. Options take fwknop's letters and
// long names where they do not clash with knock's; knock's own options keep their meaning:
//   fwknop's -s/--source-ip (a flag: allow the packet's source) is -s here too, so knock's
//   "-s ADDR" (send from ADDR) is the long --source ADDR in SPA mode;
//   fwknop's -U/--spoof-user sets the user name (knock's -u means UDP; SPA is UDP anyway, so -u
//   is accepted and changes nothing); -d/--delay (between hits) has no meaning for one packet.

import yargs from 'yargs';
import { expandShortGroups } from '../getopt/short-groups.js';
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

/** Short options that take a value (for getopt-style grouping: `-vA tcp/22`). */
const WITH_ARG = new Set(['A', 'a', 'D', 'p', 'P', 'f', 'U', 'm', 'M', 'n', 'S', 'i', 'd']);
const LONG_WITH_ARG = new Set([
  '--access', '--allow-ip', '--destination', '--server-port', '--fw-timeout', '--spoof-user', '--digest', '--digest-type',
  '--encryption-mode', '--named-config', '--source-port', '--interface', '--delay', '--key', '--key-rijndael', '--key-base64',
  '--key-base64-rijndael', '--hmac-key', '--key-hmac', '--hmac-key-base64', '--key-base64-hmac', '--hmac-digest',
  '--hmac-digest-type', '--time-offset-plus', '--time-offset-minus', '--rc-file', '--source', '--server-proto',
]);

/** True when the words ask for SPA mode (`--spa` or `--spa-keygen` before any `--`). */
export function wantsSpa(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--spa' || a === '--spa-keygen') return true;
  }
  return false;
}

export function parseSpaArgs(argv: readonly string[]): SpaArgsResult {
  let failure: string | undefined;
  const words = expandShortGroups(argv, WITH_ARG);
  const str = (alias: string | string[] = []) => ({ alias, type: 'string' as const, requiresArg: true });
  const p = yargs(words)
    .version(false)
    .help(false)
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false, 'strip-aliased': true, 'parse-numbers': false, 'parse-positional-numbers': false })
    .option('spa', { type: 'boolean' })
    .option('spa-keygen', { type: 'boolean' })
    .option('access', str('A'))
    .option('allow-ip', str('a'))
    .option('source-ip', { alias: 's', type: 'boolean' })
    .option('destination', str('D'))
    .option('server-port', str('p'))
    .option('server-proto', str('P'))
    .option('source-port', str('S'))
    .option('fw-timeout', str('f'))
    .option('spoof-user', str('U'))
    .option('key', str('key-rijndael'))
    .option('key-base64', str('key-base64-rijndael'))
    .option('hmac-key', str('key-hmac'))
    .option('hmac-key-base64', str('key-base64-hmac'))
    .option('hmac-digest', str('hmac-digest-type'))
    .option('digest', str(['m', 'digest-type']))
    .option('encryption-mode', str('M'))
    .option('time-offset-plus', str())
    .option('time-offset-minus', str())
    .option('use-hmac', { type: 'boolean' })
    .option('fwknoprc', { type: 'string' })
    .option('rc-file', str())
    .option('named-config', str('n'))
    .option('interface', str('i'))
    .option('source', str())
    .option('delay', str('d'))
    .option('udp', { alias: 'u', type: 'boolean' })
    .option('4', { alias: 'ipv4', type: 'boolean' })
    .option('6', { alias: 'ipv6', type: 'boolean' })
    .option('verbose', { alias: 'v', type: 'boolean' })
    .option('V', { alias: 'version', type: 'boolean' })
    .option('h', { alias: 'help', type: 'boolean' })
    .strictOptions()
    .exitProcess(false)
    .fail((m) => { failure = m; })
    .parseSync();
  if (failure !== undefined) return { kind: 'bad', message: `knock: ${failure}` };
  if (p['h']) return { kind: 'usage' };
  if (p['V']) return { kind: 'version' };

  const last = (v: unknown) => (Array.isArray(v) ? v.at(-1) : v) as string | undefined;
  /** The value of an option with the name the user typed, for messages. */
  const given = (key: string, shown: string): Raw | undefined => {
    const v = last(p[key]);
    return v === undefined ? undefined : { text: String(v), origin: shown, cli: true };
  };
  const positional = (p._ ?? []).map(String);

  if (p['spa-keygen']) {
    const extra = Object.keys(p).filter((k) => !['_', '$0', 'spa-keygen', 'spa', 'hmac-digest'].includes(k) && p[k] !== undefined && p[k] !== false);
    if (extra.length || positional.length) return { kind: 'bad', message: 'knock: --spa-keygen takes only --hmac-digest DIGEST' };
    return { kind: 'keygen', hmacDigest: given('hmac-digest', '--hmac-digest') };
  }

  if (p['delay'] !== undefined) return { kind: 'bad', message: 'knock: -d/--delay is for knock sequences; --spa sends a single packet' };
  if (p['allow-ip'] !== undefined && p['source-ip']) {
    return { kind: 'bad', message: 'knock: give -a IP or -s, not both (-a puts IP in the packet; -s asks the server to allow the packet\'s source)' };
  }
  if (p['key'] !== undefined && p['key-base64'] !== undefined) return { kind: 'bad', message: 'knock: give --key or --key-base64, not both' };
  if (p['hmac-key'] !== undefined && p['hmac-key-base64'] !== undefined) return { kind: 'bad', message: 'knock: give --hmac-key or --hmac-key-base64, not both' };
  if (p['fwknoprc'] !== undefined && p['rc-file'] !== undefined) return { kind: 'bad', message: 'knock: give --fwknoprc or --rc-file, not both' };
  if (p['interface'] !== undefined && p['source'] !== undefined) return { kind: 'bad', message: 'knock: give --interface or --source, not both' };

  const host = given('destination', '-D/--destination');
  if (positional.length > 1 || (host && positional.length)) {
    const hint = p['source-ip'] ? ' (with --spa, -s takes no value: it is fwknop\'s --source-ip; send from an address with --source ADDR)' : '';
    return { kind: 'bad', message: `knock: --spa sends to one host; unexpected "${positional.slice(host ? 0 : 1).join(' ')}"${hint}` };
  }

  // The later of -4/-6 wins, as in knock.
  let family: '4' | '6' | undefined;
  for (let i = 0; i < words.length; i++) {
    const a = words[i]!;
    if (a === '--') break;
    if (LONG_WITH_ARG.has(a) || (a.length === 2 && a[0] === '-' && WITH_ARG.has(a[1]!))) { i++; continue; }
    if (a === '-4' || a === '--ipv4') family = '4';
    if (a === '-6' || a === '--ipv6') family = '6';
  }

  const settings: SpaSettings = {};
  const put = (k: keyof SpaSettings, r: Raw | undefined) => { if (r) settings[k] = r; };
  put('host', host ?? (positional[0] !== undefined ? { text: positional[0], origin: `host "${positional[0]}"`, cli: true } : undefined));
  put('port', given('server-port', '-p/--server-port'));
  put('proto', given('server-proto', '-P/--server-proto'));
  put('sourcePort', given('source-port', '-S/--source-port'));
  put('access', given('access', '-A/--access'));
  put('allow', given('allow-ip', '-a/--allow-ip') ?? (p['source-ip'] ? { text: 'source', origin: '-s', cli: true } : undefined));
  put('key', given('key', '--key'));
  put('keyBase64', given('key-base64', '--key-base64'));
  put('hmacKey', given('hmac-key', '--hmac-key'));
  put('hmacKeyBase64', given('hmac-key-base64', '--hmac-key-base64'));
  put('hmacDigest', given('hmac-digest', '--hmac-digest'));
  put('digest', given('digest', '--digest'));
  put('mode', given('encryption-mode', '-M/--encryption-mode'));
  put('timeout', given('fw-timeout', '-f/--fw-timeout'));
  put('user', given('spoof-user', '-U/--spoof-user'));
  put('timeOffsetPlus', given('time-offset-plus', '--time-offset-plus'));
  put('timeOffsetMinus', given('time-offset-minus', '--time-offset-minus'));
  if (family) settings.family = { text: family, origin: `-${family}`, cli: true };

  const stanza = last(p['named-config']);
  let rcFile = last(p['rc-file']) ?? last(p['fwknoprc']);
  if (rcFile === undefined && stanza !== undefined) rcFile = '';
  return {
    kind: 'run',
    args: {
      settings, rcFile, stanza, verbose: Boolean(p['verbose']),
      iface: last(p['interface']), bindAddress: last(p['source']),
    },
  };
}
