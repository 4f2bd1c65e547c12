// The SPA plaintext: colon-joined fields, each checked the way fwknop's decoder checks it (docs/fwknop-spa.md
// §1), and stricter where fwknop is lenient. Authenticated does not mean well-formed:
// every field is validated before anything uses it. Pure: no clock, no keys.

import type { Failure, Result } from '../errors/result.js';
import { timingSafeEqual } from 'node:crypto';
import { b64, isBase64Text, unb64 } from './base64.js';
import { digestB64, digestsOfLength, type DigestName } from './digests.js';
import { parseAccessMessage, parseCommandMessage, parseNatAccess } from './access.js';
import { kindOf } from './message-types.js';

/** The message types by name (message-types.ts holds what each carries). */
export const MSG_TYPE = {
  COMMAND: 0, ACCESS: 1, NAT_ACCESS: 2, CLIENT_TIMEOUT_ACCESS: 3,
  CLIENT_TIMEOUT_NAT_ACCESS: 4, LOCAL_NAT_ACCESS: 5, CLIENT_TIMEOUT_LOCAL_NAT_ACCESS: 6,
} as const;

export interface SpaFields {
  readonly rand: string;
  readonly username: string;
  /** Unix seconds as the client wrote them. */
  readonly timestamp: number;
  readonly version: string;
  readonly messageType: number;
  readonly message: string;
  readonly natAccess: string | null;
  readonly serverAuth: string | null;
  /** Seconds the client asked for; 0 when the type carries none. */
  readonly clientTimeout: number;
}

export const PROTOCOL_VERSION = '3.0.0';
export const PLAINTEXT_MIN = 36;
export const PLAINTEXT_MAX = 1499;
const MAX_USER_B64 = 64;
const MAX_MSG_B64 = 256;
const MAX_NAT_B64 = 128;
const MAX_SERVER_AUTH_B64 = 88;
const MAX_VERSION = 8;
const MAX_TS_CHARS = 12;
const MAX_CLIENT_TIMEOUT = 65536;
// validate_username: printable ASCII without these.
const USER_FORBIDDEN = /["/\\[\]:;|=,+*?<>]/;
const PRINTABLE = /^[\x20-\x7e]*$/;

export type FieldError =
  | 'length' | 'not-printable' | 'rand' | 'digest' | 'field-count' | 'username' | 'timestamp'
  | 'version' | 'message-type' | 'message' | 'nat-access' | 'server-auth' | 'client-timeout';

export type PlaintextResult = Result<{ fields: SpaFields; digest: DigestName }, FieldError>;

const hasNat = (t: number) => kindOf(t)?.nat !== undefined;
const hasTimeout = (t: number) => kindOf(t)?.clientTimeout === true;

export function validUsername(u: string): boolean {
  return u.length > 0 && u.length <= 48 && PRINTABLE.test(u) && !USER_FORBIDDEN.test(u);
}

function validMessage(type: number, message: string): boolean {
  return kindOf(type)?.command ? parseCommandMessage(message) !== undefined : parseAccessMessage(message) !== undefined;
}

/** Builds the plaintext (fields + ':' + digest) the way fwknop's encoder does. Throws on bad fields. */
export function encodePlaintext(f: SpaFields, digest: DigestName = 'sha256'): string {
  if (!/^[0-9]{16}$/.test(f.rand)) throw new RangeError('rand must be 16 digits');
  if (!validUsername(f.username)) throw new RangeError(`invalid username: ${JSON.stringify(f.username)}`);
  if (!Number.isInteger(f.timestamp) || f.timestamp < 0 || f.timestamp >= 2 ** 31) throw new RangeError('bad timestamp');
  if (!validMessage(f.messageType, f.message)) throw new RangeError(`invalid message: ${JSON.stringify(f.message)}`);
  const parts = [f.rand, b64(f.username), String(f.timestamp), f.version, String(f.messageType), b64(f.message)];
  if (hasNat(f.messageType)) {
    if (f.natAccess === null || !parseNatAccess(f.natAccess)) throw new RangeError('this message type needs NAT access');
    parts.push(b64(f.natAccess));
  }
  if (f.serverAuth !== null) parts.push(b64(f.serverAuth));
  if (hasTimeout(f.messageType)) parts.push(String(f.clientTimeout));
  const encoded = parts.join(':');
  const text = `${encoded}:${digestB64(digest, encoded)}`;
  if (text.length > PLAINTEXT_MAX) throw new RangeError('the SPA message is too long');
  return text;
}

function constEq(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}

function decodeB64Field(s: string, max: number): string | undefined {
  if (s.length === 0 || s.length > max) return undefined;
  const raw = unb64(s);
  if (!raw) return undefined;
  const text = raw.toString('latin1');
  return PRINTABLE.test(text) ? text : undefined;
}

const fail = (error: FieldError): Failure<FieldError> => ({ ok: false, error });

/** Parses and checks a decrypted plaintext. Never throws. */
export function decodePlaintext(text: string): PlaintextResult {
  if (text.length < PLAINTEXT_MIN || text.length > PLAINTEXT_MAX) return fail('length');
  if (!PRINTABLE.test(text)) return fail('not-printable');
  if (!/^[0-9]{16}:/.test(text)) return fail('rand');
  const signed = digested(text);
  if (!signed.ok) return signed;
  const fields = signed.encoded.split(':');
  if (fields.length < 6) return fail('field-count');
  const [rand, userB64, ts, version, typeText, msgB64, ...rest] = fields as [string, string, string, string, string, string, ...string[]];
  const head = headFields(rand, userB64, ts, version, typeText);
  if (!head.ok) return head;
  const tail = tailFields(head.messageType, msgB64, rest);
  if (!tail.ok) return tail;
  const { ok: _h, ...h } = head;
  const { ok: _t, ...t } = tail;
  return { ok: true, digest: signed.digest, fields: { ...h, ...t } };
}

/** The text before the last ':' and the digest that its tail is of (its length says which hash). */
function digested(text: string): Result<{ encoded: string; digest: DigestName }, FieldError> {
  const last = text.lastIndexOf(':');
  const encoded = text.slice(0, last);
  const digestText = text.slice(last + 1);
  if (!isBase64Text(digestText)) return fail('digest');
  for (const d of digestsOfLength(digestText.length)) {
    if (constEq(digestB64(d, encoded), digestText)) return { ok: true, encoded, digest: d };
  }
  return fail('digest');
}

type Head = Pick<SpaFields, 'rand' | 'username' | 'timestamp' | 'version' | 'messageType'>;

/** The fields every message type has before its message: random, user, time, version, type. */
function headFields(rand: string, userB64: string, ts: string, version: string, typeText: string): Result<Head, FieldError> {
  if (!/^[0-9]{16}$/.test(rand)) return fail('rand');
  const username = decodeB64Field(userB64, MAX_USER_B64);
  if (username === undefined || !validUsername(username)) return fail('username');
  if (!/^[0-9]{1,12}$/.test(ts) || ts.length > MAX_TS_CHARS) return fail('timestamp');
  const timestamp = Number(ts);
  if (timestamp >= 2 ** 31) return fail('timestamp');
  if (version.length === 0 || version.length > MAX_VERSION) return fail('version');
  if (!/^[0-9]{1,2}$/.test(typeText)) return fail('message-type');
  const messageType = Number(typeText);
  if (!kindOf(messageType)) return fail('message-type');
  return { ok: true, rand, username, timestamp, version, messageType };
}

type Tail = Pick<SpaFields, 'message' | 'natAccess' | 'serverAuth' | 'clientTimeout'>;

/** The message and the fields after it: [nat] [server_auth] [timeout], by type. */
function tailFields(messageType: number, msgB64: string, rest: string[]): Result<Tail, FieldError> {
  const maxRest = (hasNat(messageType) ? 1 : 0) + 1 + (hasTimeout(messageType) ? 1 : 0);
  const minRest = (hasNat(messageType) ? 1 : 0) + (hasTimeout(messageType) ? 1 : 0);
  if (rest.length > maxRest || rest.length < minRest) return fail('field-count');
  const message = decodeB64Field(msgB64, MAX_MSG_B64);
  if (message === undefined || !validMessage(messageType, message)) return fail('message');
  let natAccess: string | null = null;
  if (hasNat(messageType)) {
    const nat = decodeB64Field(rest.shift()!, MAX_NAT_B64);
    if (nat === undefined || !parseNatAccess(nat)) return fail('nat-access');
    natAccess = nat;
  }
  let clientTimeout = 0;
  if (hasTimeout(messageType)) {
    const t = rest.pop()!;
    if (!/^[0-9]{1,5}$/.test(t) || Number(t) > MAX_CLIENT_TIMEOUT) return fail('client-timeout');
    clientTimeout = Number(t);
  }
  let serverAuth: string | null = null;
  if (rest.length === 1) {
    const sa = decodeB64Field(rest[0]!, MAX_SERVER_AUTH_B64);
    if (sa === undefined) return fail('server-auth');
    serverAuth = sa;
  }
  return { ok: true, message, natAccess, serverAuth, clientTimeout };
}
