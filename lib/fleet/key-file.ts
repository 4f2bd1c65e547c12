// The fleet's keys (Fleet_Key_File): one base64 key per line, at least 32 bytes each. The first
// line seals what this node writes; each further line is a key also accepted until a stated time
// (a rollover: see docs/fleet.md), written `KEY until 2027-01-31T12:00Z`. Owner-only, like every
// secret; never logged or shown. `parseKeyFile` is pure; `readFleetKeys` reads the file.

import { failure, type Result } from '../errors/result.js';
import { readSecretFile } from '../fs/trusted-read.js';
import { fleetKey, MIN_KEY_BYTES, type FleetKey, type Keyring } from './seal.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?(?:Z|([+-])(\d\d):(\d\d))$/;

/** An ISO 8601 time with its zone, epoch ms; NaN for a date that does not exist (Date.parse rolls 02-30 on). */
function parseTime(text: string): number {
  const m = TIME.exec(text);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s = '0', sign, oh = '0', om = '0'] = m.slice(1) as string[];
  const local = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s);
  const back = new Date(local);
  if (back.getUTCMonth() !== +mo! - 1 || back.getUTCDate() !== +d! || back.getUTCHours() !== +h! ||
    back.getUTCMinutes() !== +mi! || back.getUTCSeconds() !== +s) return NaN;
  if (+oh > 23 || +om > 59) return NaN;
  const offset = (sign === '-' ? -1 : 1) * (+oh * 60 + +om) * 60_000;
  return local - (sign ? offset : 0);
}

export interface KeyFile {
  readonly ring: Keyring;
  /** Accepted keys whose time is over at `now` (kept out of the ring; worth a warning). */
  readonly expired: number;
}

export function parseKeyFile(text: string, path: string, now: number): Result<KeyFile> {
  let signing: FleetKey | undefined;
  const accepted: FleetKey[] = [];
  let expired = 0;
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `Fleet_Key_File ${path}: line ${i + 1}`;
    const [b64, word, time, ...rest] = line.split(/\s+/);
    const secret = Buffer.from(b64!, 'base64');
    // One spelling per key: a decoder ignores a last character's unused bits.
    if (!BASE64.test(b64!) || b64!.length % 4 !== 0 || secret.toString('base64') !== b64) return failure(`${at}: not a base64 key`);
    if (secret.length < MIN_KEY_BYTES) {
      return failure(`${at}: a key must be at least ${MIN_KEY_BYTES} bytes (it has ${secret.length}); ` +
        'make one with: head -c 32 /dev/urandom | base64');
    }
    if (seen.has(b64!)) return failure(`${at}: the same key twice`);
    seen.add(b64!); // canonical base64 (checked above): the same text is the same bytes
    if (!signing) {
      if (word !== undefined) return failure(`${at}: the first key is the one that signs; only further keys take "until TIME"`);
      signing = fleetKey(secret);
      continue;
    }
    if (word !== 'until' || time === undefined || rest.length) {
      return failure(`${at}: a further key is accepted for a stated time: KEY until 2027-01-31T12:00Z`);
    }
    const until = parseTime(time);
    if (!Number.isFinite(until)) return failure(`${at}: "${time}" is not a time (2027-01-31T12:00Z)`);
    if (until <= now) expired++;
    else accepted.push(fleetKey(secret, until));
  }
  if (!signing) return failure(`Fleet_Key_File ${path}: holds no key; make one with: head -c 32 /dev/urandom | base64`);
  return { ok: true, ring: { signing, accepted }, expired };
}

export function readFleetKeys(path: string, now = Date.now()): Result<KeyFile> {
  const r = readSecretFile(path);
  if ('missing' in r) return failure(`Fleet_Key_File ${path}: no such file`);
  if ('problem' in r) return failure(`Fleet_Key_File ${r.problem}`);
  return parseKeyFile(r.text, path, now);
}
