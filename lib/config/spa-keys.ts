// Door keys for Single Packet Authorization (SPA_*): each value checked where it is read, the
// door as a whole checked when the file is done (no SPA without an HMAC key, keys of legal
// lengths, something to open). Errors name the line, like every config error.

import { ConfigError, failAtLine } from './errors.js';
import { atoi } from './atoi.js';
import { DEFAULTS, type SpaDoor } from './types.js';
import { parseOpenPorts, parsePort } from './port-list.js';
import { spaDraft, type DoorDraft, type DoorKey, type KeyContext } from './drafts.js';
import { DIGEST_NAMES, digestByName } from '../spa/digests.js';
import { CIPHER_MODES, MAX_KEY_BYTES } from '../spa/cipher.js';
import { MAX_HMAC_KEY_BYTES } from '../spa/keygen.js';
import { PADDED_BASE64 } from '../spa/base64.js';
import { finishNat } from './spa-nat-keys.js';
import { parseAllowList } from '../spa/command-allow.js';
import { yesNo } from './yes-no.js';
import { finishGpg } from './spa-gpg-keys.js';


// Legacy mode cannot carry an HMAC, and Sesame serves no SPA without one.
const MODES = CIPHER_MODES.filter((m): m is SpaDoor['mode'] => m !== 'legacy');
const B64 = PADDED_BASE64;

function base64(ctx: KeyContext, key: string, value: string): Buffer {
  if (value === '' || !B64.test(value)) failAtLine(ctx, `${key} is not valid base64`);
  return Buffer.from(value, 'base64');
}

function seconds(ctx: KeyContext, key: string, value: string, min: number): number {
  const { value: n, exact } = atoi(value);
  if (!exact || n < min || n > 2 ** 23) {
    failAtLine(ctx, `${key} must be a whole number of seconds from ${min} to ${2 ** 23}, not "${value}"`);
  }
  return n;
}

/** A user name as useradd takes it, or a numeric uid. */
const USER = /^(?:[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})$/;

export const SPA_DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['SPA_COMMAND_ALLOW_FILE'],
    apply(door, value, ctx) {
      if (!value.startsWith('/')) failAtLine(ctx, `SPA_Command_Allow_File: "${value}" is not an absolute path`);
      const r = parseAllowList(ctx.readPrivate(value));
      if (!r.ok) throw new ConfigError(`${value}: line ${r.error.line}: ${r.error.error}`, value, r.error.line);
      spaDraft(door, ctx).commands = { path: value, list: r.commands, line: ctx.line };
    },
  },
  {
    names: ['SPA_COMMAND_USER'],
    apply(door, value, ctx) {
      if (!USER.test(value)) failAtLine(ctx, `SPA_Command_User: "${value}" is not a user name or uid`);
      spaDraft(door, ctx).commandUser = { name: value, line: ctx.line };
    },
  },
  {
    names: ['SPA_KEY'],
    apply(door, value, ctx) {
      const s = spaDraft(door, ctx);
      if (s.key) failAtLine(ctx, 'SPA_Key and SPA_Key_Base64 given twice; a door has one encryption key');
      s.key = { bytes: Buffer.from(value, 'utf8'), line: ctx.line };
    },
  },
  {
    names: ['SPA_KEY_BASE64'],
    apply(door, value, ctx) {
      const s = spaDraft(door, ctx);
      if (s.key) failAtLine(ctx, 'SPA_Key and SPA_Key_Base64 given twice; a door has one encryption key');
      s.key = { bytes: base64(ctx, 'SPA_Key_Base64', value), line: ctx.line };
    },
  },
  {
    names: ['SPA_HMAC_KEY_BASE64'],
    apply(door, value, ctx) {
      const s = spaDraft(door, ctx);
      if (s.hmacKey) failAtLine(ctx, 'SPA_HMAC_Key_Base64 given twice');
      s.hmacKey = { bytes: base64(ctx, 'SPA_HMAC_Key_Base64', value), line: ctx.line };
    },
  },
  {
    names: ['SPA_HMAC_DIGEST'],
    apply(door, value, ctx) {
      const d = digestByName(value);
      if (!d) failAtLine(ctx, `SPA_HMAC_Digest "${value}" is not one of ${DIGEST_NAMES.join(', ')}`);
      spaDraft(door, ctx).hmacDigest = d;
    },
  },
  {
    names: ['SPA_ENCRYPTION_MODE'],
    apply(door, value, ctx) {
      const v = value.toLowerCase();
      const m = MODES.find((x) => x === v);
      if (!m) {
        failAtLine(ctx, `SPA_Encryption_Mode "${value}" is not one of ${MODES.join(', ')} (legacy mode has no HMAC and is not served)`);
      }
      spaDraft(door, ctx).mode = m;
    },
  },
  {
    names: ['SPA_PORT'],
    apply(door, value, ctx) { spaDraft(door, ctx).port = parsePort(ctx, 'SPA_Port', value, 'UDP'); },
  },
  {
    names: ['SPA_OPEN_PORTS'],
    apply(door, value, ctx) { spaDraft(door, ctx).openPorts = parseOpenPorts(ctx, 'SPA_Open_Ports', value); },
  },
  {
    names: ['SPA_MAX_AGE'],
    apply(door, value, ctx) { spaDraft(door, ctx).maxAge = seconds(ctx, 'SPA_Max_Age', value, 1); },
  },
  {
    names: ['SPA_MAX_TIMEOUT'],
    apply(door, value, ctx) { spaDraft(door, ctx).maxTimeout = seconds(ctx, 'SPA_Max_Timeout', value, 1); },
  },
  {
    names: ['SPA_REQUIRE_SOURCE_ADDRESS', 'SPA_REQUIRE_SOURCE'],
    apply(door, value, ctx) { spaDraft(door, ctx).requireSource = yesNo(ctx, 'SPA_Require_Source_Address', value); },
  },
];

/** The whole door's SPA settings, once the file is read; undefined when the door has no SPA key. */
export function finishSpa(door: DoorDraft, file: string): SpaDoor | undefined {
  const s = door.spa;
  if (!s) return undefined;
  const err = (line: number, text: string): never => {
    throw new ConfigError(`config: section ${door.name}: ${text}`, file, line);
  };
  const gpg = finishGpg(s.gpg, err);
  if (!s.key && !gpg) err(s.line, 'SPA needs SPA_Key or SPA_Key_Base64 (or SPA_GPG_ keys)');
  if (s.key && !s.hmacKey) err(s.line, 'SPA needs SPA_HMAC_Key_Base64: Sesame serves no SPA without HMAC');
  const key = s.key?.bytes;
  const hmacKey = s.hmacKey?.bytes;
  if (key && (key.length < 1 || key.length > MAX_KEY_BYTES)) {
    err(s.key!.line, `the SPA encryption key is ${key.length} bytes; fwknop allows 1 to ${MAX_KEY_BYTES}`);
  }
  if (hmacKey && (hmacKey.length < 1 || hmacKey.length > MAX_HMAC_KEY_BYTES)) {
    err(s.hmacKey!.line, `the SPA HMAC key is ${hmacKey.length} bytes; fwknop allows 1 to ${MAX_HMAC_KEY_BYTES}`);
  }
  if (key && hmacKey && key.equals(hmacKey)) err(s.hmacKey!.line, 'the SPA HMAC key must differ from the encryption key');
  // What a client may ask for: SPA_Open_Ports, else the door's Open ports; a NAT door may have neither.
  const openPorts = s.openPorts ?? door.open ?? [];
  const nat = finishNat(s, door.name, file);
  if (s.commandUser && !s.commands) err(s.commandUser.line, 'SPA_Command_User needs SPA_Command_Allow_File');
  if (!openPorts.length && !nat?.forward.length && !nat?.local.length && !nat?.force && !s.commands) {
    err(s.line, 'SPA needs SPA_Open_Ports or Open (what a client may open, e.g. tcp/22), ' +
      'a NAT key (SPA_Forward, SPA_Local_NAT, SPA_Force_NAT) or SPA_Command_Allow_File');
  }
  const commands = s.commands && { path: s.commands.path, allowed: s.commands.list, user: s.commandUser?.name, line: s.commands.line };
  return {
    key: key && new Uint8Array(key),
    hmacKey: hmacKey && new Uint8Array(hmacKey),
    hmacDigest: s.hmacDigest ?? 'sha256',
    mode: s.mode ?? 'cbc',
    port: s.port ?? DEFAULTS.spaPort,
    openPorts,
    maxAge: s.maxAge ?? DEFAULTS.spaMaxAge,
    maxTimeout: s.maxTimeout ?? door.cmdTimeout,
    requireSource: s.requireSource ?? false,
    nat,
    commands,
    gpg,
  };
}
