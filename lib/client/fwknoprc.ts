// fwknop's client rc file (~/.fwknoprc), read the way the fwknop 2.6 client reads it, so fwknop
// users keep theirs:
//
//   # comment                    lines starting with '#' (after blanks) and empty lines are skipped
//   [default]                    a stanza: the name runs to the first ']'
//   KEY_BASE64      abc...=      VARIABLE, blanks, VALUE
//   [server1]                    named stanza: overrides [default]; `knock --spa -n server1`
//   SPA_SERVER      192.0.2.1
//
// A value is the first word after the variable: it ends at a blank, ';' or '#' (so a passphrase
// cannot hold spaces, exactly as with fwknop; anything after ';' or '#' is a comment). Only [default] and the chosen stanza are read;
// other stanzas may hold anything. A stanza name used twice is one stanza; a later line wins.
// Lines before the first stanza are ignored. Sesame also accepts what fwknop refuses but cannot
// misread: variable names in any case, `VARIABLE = value` and `VARIABLE=value`.

import { readFileSync, statSync } from 'node:fs';
import { ERROR_CODES, SesameError } from '../errors/errors.js';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A value and where it came from: `--key-base64`, or `/root/.fwknoprc:12: KEY_BASE64`. */
export interface Raw {
  readonly text: string;
  readonly origin: string;
  /** Given on the command line (some limits differ from the rc file's). */
  readonly cli?: boolean;
}

export class RcError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.rcFile);
    this.name = 'RcError';
  }
}

export interface RcEntry {
  /** Variable name in upper case. */
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

export interface RcRead {
  /** [default]'s entries, then the stanza's, each in file order: later entries win. */
  readonly entries: readonly RcEntry[];
  readonly warnings: readonly string[];
}

export function defaultRcPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['HOME'] || homedir(), '.fwknoprc');
}

const STANZA = /^\[([^\]]*)\]/;
const VALUE_END = /[\s;#]/;

/** Splits `VARIABLE value…` into its name and fwknop's value (the first word), or undefined. */
function splitLine(body: string): { name: string; value: string; rest: string } | undefined {
  const m = /^([A-Za-z0-9_]+)(?::?)(.*)$/.exec(body);
  if (!m) return undefined;
  const name = m[1]!.toUpperCase();
  let after = m[2]!;
  const eq = /^\s*=/.exec(after);
  if (eq && (after.startsWith('=') || /^\s*=\s+\S/.test(after))) after = after.slice(eq[0].length);
  else if (after !== '' && !/^\s/.test(after)) return undefined;
  after = after.replace(/^\s+/, '');
  const end = after.search(VALUE_END);
  const value = end === -1 ? after : after.slice(0, end);
  return { name, value, rest: end === -1 ? '' : after.slice(end) };
}

/**
 * The entries of [default] and of `stanza` (none but [default] when stanza is undefined). Throws
 * RcError naming the file and line for a line that is not `VARIABLE value` in those stanzas, or
 * when the named stanza does not exist.
 */
export function readStanzas(text: string, path: string, stanza: string | undefined): RcRead {
  const defaults: RcEntry[] = [];
  const named: RcEntry[] = [];
  const warnings: string[] = [];
  let current: string | undefined;
  let found = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const body = lines[i]!.replace(/^\s+/, '');
    if (body === '' || body.startsWith('#')) continue;
    const s = STANZA.exec(body);
    if (s) {
      current = s[1]!.trim();
      if (stanza !== undefined && current === stanza) found = true;
      continue;
    }
    const target = current === 'default' ? defaults : stanza !== undefined && current === stanza ? named : undefined;
    if (!target) continue; // before any stanza, or a stanza not in use
    const v = splitLine(body);
    if (!v) throw new RcError(`${path}:${n}: cannot read "${lines[i]!.trim()}" (expected VARIABLE value)`);
    if (v.value === '') throw new RcError(`${path}:${n}: ${v.name} has no value`);
    const rest = v.rest.trim();
    if (rest !== '' && !rest.startsWith('#') && !rest.startsWith(';')) {
      warnings.push(`${path}:${n}: only "${v.value}" is used as the value of ${v.name} ` +
        '(fwknop reads a value up to the first blank, \';\' or \'#\')');
    }
    target.push({ name: v.name, value: v.value, line: n });
  }
  if (stanza !== undefined && stanza !== 'default' && !found) throw new RcError(`${path}: no stanza [${stanza}]`);
  return { entries: stanza === 'default' ? defaults : [...defaults, ...named], warnings };
}

/** fwknop's warnings for an rc file that others may read or that is not the user's own. */
export function permissionWarnings(path: string, mode: number, uid: number, euid: number | undefined): string[] {
  const out: string[] = [];
  if ((mode & 0o077) !== 0) out.push(`${path}: permissions should only be user read/write (0600, -rw-------)`);
  if (euid !== undefined && uid !== euid) out.push(`${path}: not owned by the current user (uid ${euid}, file owner ${uid})`);
  return out;
}

/** Reads the file; warns (does not refuse) like fwknop when its permissions are loose. */
export function loadStanzas(path: string, stanza: string | undefined): RcRead {
  let text: string;
  let st;
  try {
    st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new RcError(`cannot read fwknop rc file ${path}: ${why}`);
  }
  const r = readStanzas(text, path, stanza);
  return { entries: r.entries, warnings: [...permissionWarnings(path, st.mode, st.uid, process.geteuid?.()), ...r.warnings] };
}

/** What the rc file says, by setting; values are checked later, only those that end up in use. */
export interface RcSettings {
  readonly values: Readonly<Record<string, Raw>>;
  /** Variables asking for something Sesame does not do; each is an error when in use. */
  readonly refused: readonly Raw[];
  readonly notes: readonly string[];
}

/** rc variable → Sesame setting name. */
const MAPPED: Readonly<Record<string, string>> = {
  SPA_SERVER: 'host',
  SPA_SERVER_PORT: 'port',
  SPA_SERVER_PROTO: 'proto',
  SPA_SOURCE_PORT: 'sourcePort',
  ACCESS: 'access',
  KEY: 'key',
  KEY_BASE64: 'keyBase64',
  HMAC_KEY: 'hmacKey',
  HMAC_KEY_BASE64: 'hmacKeyBase64',
  HMAC_DIGEST_TYPE: 'hmacDigest',
  DIGEST_TYPE: 'digest',
  ENCRYPTION_MODE: 'mode',
  FW_TIMEOUT: 'timeout',
  SPOOF_USER: 'user',
  TIME_OFFSET: 'timeOffset',
  NAT_ACCESS: 'natAccess',
  NAT_PORT: 'natPort',
  NAT_LOCAL: 'natLocal',
  NAT_RAND_PORT: 'natRandPort',
  USE_GPG: 'gpg',
  GPG_RECIPIENT: 'gpgRecipient',
  GPG_SIGNER: 'gpgSigner',
  GPG_HOMEDIR: 'gpgHomeDir',
  GPG_SIGNING_PW: 'gpgSigningPw',
  GPG_SIGNING_PW_BASE64: 'gpgSigningPwBase64',
  GPG_NO_SIGNING_PW: 'gpgNoSigningPw',
  USE_GPG_AGENT: 'gpgAgent',
  GPG_EXE: 'gpgExe',
};

/** Known to fwknop, no effect on the packet Sesame sends. */
const IGNORED = new Set([
  'VERBOSE', 'NO_SAVE_ARGS', 'WGET_CMD', 'RESOLVE_URL', 'RESOLVE_HTTP_ONLY', 'HTTP_USER_AGENT',
  'USE_WGET_USER_AGENT',
]);

/** Y/N flags that ask for something Sesame does not do when set to Y. */
const REFUSED_WHEN_YES: Readonly<Record<string, string>> = {
  RAND_PORT: 'a random destination port is not supported; set SPA_SERVER_PORT',
};

/** Variables that ask for something Sesame does not do, whatever their value. */
const REFUSED: Readonly<Record<string, string>> = {
  SPOOF_SOURCE_IP: 'spoofing the source address (raw sockets) is not supported',
  KEY_FILE: 'keys from a key file are not supported; put KEY_BASE64 in the stanza',
  HMAC_KEY_FILE: 'keys from a key file are not supported; put HMAC_KEY_BASE64 in the stanza',
};

const yes = (v: string) => /^y/i.test(v);

export function rcSettings(read: RcRead, path: string): RcSettings {
  const values: Record<string, Raw> = {};
  const refused = new Map<string, Raw>();
  const notes: string[] = [];
  for (const e of read.entries) {
    const origin = `${path}:${e.line}: ${e.name}`;
    const raw = { text: e.value, origin };
    const setting = MAPPED[e.name];
    if (setting) {
      // One encryption key and one HMAC key, whichever spelling the later line used.
      if (setting === 'key' || setting === 'keyBase64') { delete values['key']; delete values['keyBase64']; }
      if (setting === 'hmacKey' || setting === 'hmacKeyBase64') { delete values['hmacKey']; delete values['hmacKeyBase64']; }
      if (setting === 'gpgSigningPw' || setting === 'gpgSigningPwBase64') {
        delete values['gpgSigningPw'];
        delete values['gpgSigningPwBase64'];
      }
      values[setting] = raw;
    } else if (e.name === 'ALLOW_IP') {
      values['allow'] = raw;
    } else if (e.name === 'RESOLVE_IP_HTTPS' || e.name === 'RESOLVE_IP_HTTP') {
      if (yes(e.value)) values['allow'] = { text: 'resolve', origin };
    } else if (e.name === 'SERVER_RESOLVE_IPV4') {
      if (yes(e.value)) values['family'] = { text: '4', origin };
      else delete values['family'];
    } else if (e.name === 'USE_HMAC') {
      values['useHmac'] = raw;
    } else if (REFUSED_WHEN_YES[e.name] !== undefined) {
      if (yes(e.value)) refused.set(e.name, { text: REFUSED_WHEN_YES[e.name]!, origin });
      else refused.delete(e.name);
    } else if (REFUSED[e.name] !== undefined) {
      refused.set(e.name, { text: REFUSED[e.name]!, origin });
    } else if (IGNORED.has(e.name)) {
      notes.push(`${origin} has no effect on an SPA packet sent by knock; ignored`);
    } else {
      throw new RcError(`${origin}: unknown variable (see fwknop(8), FWKNOPRC FILE)`);
    }
  }
  return { values, refused: [...refused.values()], notes };
}
