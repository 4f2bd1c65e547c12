// What `knock --spa` sends, from the command line over the rc file over the defaults, with every
// value checked before a packet is built. Pure: the environment and the clock come in.

import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { SpaInputError } from './spa-input-error.js';
import { gpgRequest, type GpgRequest, type GpgSettings } from './spa-gpg.js';
import { parsePortList, isDottedQuad, formatProtoPort, type ProtoPort } from '../spa/access.js';
import { digestByName, DIGEST_NAMES, type DigestName } from '../spa/digests.js';
import { MAX_KEY_BYTES, type CipherMode } from '../spa/cipher.js';
import { validUsername } from '../spa/message.js';
import { encodeAccess, RIJNDAEL_WIRE_MAX, SPA_DEFAULT_PORT, WIRE_MIN, type MessageInput, type SpaKeys } from '../spa/wire.js';
import { MAX_HMAC_KEY_BYTES } from '../spa/keygen.js';
import { PADDED_BASE64 } from '../spa/base64.js';
import type { Raw } from './fwknoprc.js';

export const DEFAULT_SPA_PORT = SPA_DEFAULT_PORT;
export const MAX_CLIENT_TIMEOUT = 65536;
const MODES = ['cbc', 'ctr', 'cfb', 'ofb', 'ecb'] as const;
const B64 = PADDED_BASE64;

/** Every setting as text with its origin; command-line values replace rc values setting by setting. */
export interface SpaSettings extends GpgSettings {
  host?: Raw;
  port?: Raw;
  proto?: Raw;
  sourcePort?: Raw;
  access?: Raw;
  /** An IPv4 address, `source` (0.0.0.0: the server uses the packet's source) or `resolve`. */
  allow?: Raw;
  key?: Raw;
  keyBase64?: Raw;
  hmacKey?: Raw;
  hmacKeyBase64?: Raw;
  hmacDigest?: Raw;
  digest?: Raw;
  mode?: Raw;
  timeout?: Raw;
  user?: Raw;
  /** Signed offset (rc TIME_OFFSET). */
  timeOffset?: Raw;
  /** Command line: these replace timeOffset when either is given. */
  timeOffsetPlus?: Raw;
  timeOffsetMinus?: Raw;
  family?: Raw;
  useHmac?: Raw;
  /** `HOST[:PORT]`: NAT access to an internal host through the server (fwknop -N). */
  natAccess?: Raw;
  /** Y: local NAT (a port of the server itself, fwknop --nat-local). */
  natLocal?: Raw;
  /** The server port to connect to instead of the access port (--nat-port). */
  natPort?: Raw;
  /** Y: a random server port (--nat-rand-port). */
  natRandPort?: Raw;
}

export interface SpaRequest {
  readonly host: string;
  readonly port: number;
  readonly family: 0 | 4 | 6;
  readonly sourcePort: number | undefined;
  readonly ports: readonly ProtoPort[];
  readonly allowIp: string;
  readonly username: string;
  readonly timestamp: number;
  /** Seconds asked for (-f), 0 for the server's default. */
  readonly clientTimeout: number;
  /** Rijndael keys and the HMAC; in GnuPG mode `key` is empty and unused, the HMAC optional. */
  readonly keys: SpaKeys;
  /** GnuPG mode (USE_GPG, --gpg-encryption): recipient, signer and how to sign. */
  readonly gpg: GpgRequest | undefined;
  readonly digest: DigestName;
  /** The SPA message: `<allow_ip>,<proto>/<port>,…`. */
  readonly message: string;
  /** NAT access: `host,port` to forward to (forward), or the port of the server (local: its address is the resolved host). */
  readonly nat: { readonly kind: 'forward'; readonly access: string } | { readonly kind: 'local'; readonly port: number } | undefined;
  readonly warnings: readonly string[];
}

export { SpaInputError };

const fail = (raw: Raw | string, problem: string): never => {
  throw new SpaInputError(`${typeof raw === 'string' ? raw : raw.origin}: ${problem}`);
};

function portNumber(raw: Raw, min: number): number {
  const t = raw.text.trim();
  if (!/^[0-9]{1,5}$/.test(t) || Number(t) < min || Number(t) > 65535) fail(raw, `"${raw.text}" is not a port number (${min}-65535)`);
  return Number(t);
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1, s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
};

/** fwknop's time offsets: `90`, `90s`, `5min`, `2hours`, `1days` (with a sign when `signed`). */
export function parseTimeOffset(raw: Raw, signed: boolean): number {
  const m = /^([+-]?)([0-9]{1,10})([A-Za-z]*)$/.exec(raw.text.trim());
  const unit = m ? UNITS[m[3]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || (!signed && m[1] !== '')) {
    fail(raw, `"${raw.text}" is not a time offset (seconds, or a number with min, hours or days: 90, 5min, 2hours, 1days)`);
  }
  const n = Number(m![2]) * unit!;
  if (n >= 2 ** 31) fail(raw, `"${raw.text}" is too large`);
  return m![1] === '-' ? -n : n;
}

export function parseDigest(raw: Raw): DigestName {
  const d = digestByName(raw.text);
  if (!d) fail(raw, `unknown digest "${raw.text}" (${DIGEST_NAMES.join(', ')})`);
  return d!;
}

function parseMode(raw: Raw): CipherMode {
  const v = raw.text.trim().toLowerCase();
  if (v === 'legacy') fail(raw, 'legacy encryption mode is incompatible with HMAC (and knock --spa always sends an HMAC)');
  const m = MODES.find((x) => x === v);
  if (!m) fail(raw, `unknown encryption mode "${raw.text}" (${MODES.join(', ')})`);
  return m!;
}

function keyBytes(text: Raw | undefined, base64: Raw | undefined): { bytes: Buffer; raw: Raw } | undefined {
  if (base64) {
    if (base64.text === '' || !B64.test(base64.text)) fail(base64, 'not valid base64');
    return { bytes: Buffer.from(base64.text, 'base64'), raw: base64 };
  }
  return text ? { bytes: Buffer.from(text.text, 'utf8'), raw: text } : undefined;
}

/** The user name fwknop would send: SPOOF_USER, LOGNAME, USER from the environment, else NO_USER. */
export function defaultUser(env: NodeJS.ProcessEnv): Raw {
  for (const name of ['SPOOF_USER', 'LOGNAME', 'USER']) {
    const v = env[name];
    if (v) return { text: v, origin: `$${name}` };
  }
  return { text: 'NO_USER', origin: 'default user name' };
}

export interface BuildContext {
  readonly env: NodeJS.ProcessEnv;
  /** Unix seconds. */
  readonly now: number;
}

/** Checks and combines the settings; throws SpaInputError with a message naming the culprit. */
export function buildRequest(s: SpaSettings, ctx: BuildContext, refused: readonly Raw[] = []): SpaRequest {
  for (const r of refused) fail(r, r.text);
  const server = destination(s);
  const asked = accessPorts(s);
  const nat = natRequest(s, asked);
  const allowIp = allowedAddress(s);
  const warnings: string[] = [];
  const gpg = gpgRequest(s, warnings);
  const { keys, digest } = gpg ? gpgPacketKeys(s, warnings) : packetKeys(s, warnings);
  const timeout = clientTimeout(s);
  const user = s.user ?? defaultUser(ctx.env);
  if (!validUsername(user.text)) {
    fail(user, `the user name "${user.text}" cannot go in an SPA packet ` +
      '(1 to 48 printable ASCII characters, none of " / \\ [ ] : ; | = , + * ? < >); give --spoof-user NAME');
  }
  return {
    ...server, ports: nat.ports, allowIp, nat: nat.nat, username: user.text, timestamp: timestamp(s, ctx.now),
    clientTimeout: timeout, digest, keys, gpg,
    message: [allowIp, ...nat.ports.map(formatProtoPort)].join(','),
    warnings,
  };
}

/** The SPA server: host, UDP port, address family, source port. */
function destination(s: SpaSettings): Pick<SpaRequest, 'host' | 'port' | 'family' | 'sourcePort'> {
  if (!s.host || s.host.text.trim() === '') throw new SpaInputError('no SPA server: give a host (or SPA_SERVER in the rc file)');
  const host = s.host.text.trim();
  if (host.startsWith('@')) fail(s.host, 'knock profiles (@name) are for knock sequences; use --fwknoprc -n STANZA with --spa');
  const port = s.port ? portNumber(s.port, 1) : DEFAULT_SPA_PORT;
  if (s.proto && s.proto.text.trim().toLowerCase() !== 'udp') fail(s.proto, `"${s.proto.text}": knock sends SPA over UDP only`);
  const sourcePort = s.sourcePort ? portNumber(s.sourcePort, 0) : undefined;
  const family: 0 | 4 | 6 = !s.family ? 0 : s.family.text === '6' ? 6 : 4;
  const literal = isIP(host);
  if (literal && family && literal !== family) fail(s.family!, `${host} is not an IPv${family} address`);
  return { host, port, family, sourcePort };
}

function accessPorts(s: SpaSettings): ProtoPort[] {
  if (!s.access) {
    throw new SpaInputError('no access request: give -A proto/port[,proto/port…] (e.g. -A tcp/22), or ACCESS in the rc file');
  }
  const list = parsePortList(s.access.text);
  if (!list.ok) return fail(s.access, `"${list.error}" is not tcp/PORT or udp/PORT with a port from 1 to 65535`);
  return list.ports;
}

const yes = (r: Raw | undefined) => r !== undefined && /^y/i.test(r.text.trim());

/**
 * fwknop's NAT options: -N HOST[:PORT] forwards to an internal host (port: the first access port
 * when left out); --nat-local to a port of the server; --nat-port P or --nat-rand-port replace the
 * access port in the message with the server port the client will connect to.
 */
function natRequest(s: SpaSettings, asked: ProtoPort[]): { ports: ProtoPort[]; nat: SpaRequest['nat'] } {
  const local = yes(s.natLocal);
  if (!s.natAccess && !local) {
    const extra = s.natPort ?? (yes(s.natRandPort) ? s.natRandPort : undefined);
    if (extra) fail(extra, 'only with -N HOST:PORT or --nat-local');
    return { ports: asked, nat: undefined };
  }
  if (s.natAccess && local) fail(s.natAccess, 'give -N HOST:PORT or --nat-local, not both');
  const first = asked[0]!;
  let nat: SpaRequest['nat'];
  if (s.natAccess) {
    const m = /^([^ ,/?"'\\:]{1,70})(?::([0-9]{1,5}))?$/.exec(s.natAccess.text.trim());
    const port = m?.[2] === undefined ? first.port : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      fail(s.natAccess, `"${s.natAccess.text}" is not HOST[:PORT] (an internal host, e.g. 10.0.0.5:3306)`);
    }
    nat = { kind: 'forward', access: `${m![1]},${port}` };
  } else {
    nat = { kind: 'local', port: first.port };
  }
  if (s.natPort) return { ports: [{ protocol: first.protocol, port: portNumber(s.natPort, 1) }], nat };
  if (yes(s.natRandPort)) return { ports: [{ protocol: first.protocol, port: 10_000 + randomInt(55_536) }], nat };
  return { ports: asked, nat };
}

/** The address the packet asks the server to let in (0.0.0.0: the packet's source). */
function allowedAddress(s: SpaSettings): string {
  if (!s.allow) {
    throw new SpaInputError(
      'no address to allow: give -a IP (the IPv4 address the server should let in) or -s (the packet\'s source address)');
  }
  const allowText = s.allow.text.trim();
  if (allowText.toLowerCase() === 'source') return '0.0.0.0';
  if (allowText.toLowerCase() === 'resolve') {
    return fail(s.allow, 'resolving the external address over HTTPS (fwknop -R) is not supported: give -a IP or -s');
  }
  if (isDottedQuad(allowText)) return allowText;
  return fail(s.allow, `"${s.allow.text}" is not an IPv4 address in dotted-quad form ` +
    '(an SPA message carries IPv4 only; use -s to let the server take the packet\'s source, IPv6 included)');
}

/** The keys with their HMAC digest and mode, and the message digest; fwknop's limits on each. */
function packetKeys(s: SpaSettings, warnings: string[]): Pick<SpaRequest, 'keys' | 'digest'> {
  const enc = keyBytes(s.key, s.keyBase64);
  if (!enc) throw new SpaInputError('no encryption key: give --key-base64 KEY or --key PASSPHRASE (or KEY_BASE64 / KEY in the rc file)');
  if (enc.bytes.length < 1 || enc.bytes.length > MAX_KEY_BYTES) {
    fail(enc.raw, `the encryption key is ${enc.bytes.length} bytes; fwknop allows 1 to ${MAX_KEY_BYTES}`);
  }
  const mac = hmacKeyBytes(s);
  if (!mac) {
    throw new SpaInputError('no HMAC key: SPA without HMAC is refused; ' +
      'give --hmac-key-base64 KEY (or HMAC_KEY_BASE64 in the rc file; knock --spa-keygen makes a pair)');
  }
  if (mac.bytes.equals(enc.bytes)) {
    fail(mac.raw, `the HMAC key must differ from the encryption key (${enc.raw.origin}); fwknop refuses identical keys`);
  }
  if (s.useHmac && !/^y/i.test(s.useHmac.text)) warnings.push(`${s.useHmac.origin}: ignored: knock --spa always sends an HMAC`);
  const hmacDigest = s.hmacDigest ? parseDigest(s.hmacDigest) : 'sha256';
  const digest = s.digest ? parseDigest(s.digest) : 'sha256';
  const mode = s.mode ? parseMode(s.mode) : 'cbc';
  return { keys: { key: new Uint8Array(enc.bytes), hmacKey: new Uint8Array(mac.bytes), hmacDigest, mode }, digest };
}

function hmacKeyBytes(s: SpaSettings): { bytes: Buffer; raw: Raw } | undefined {
  const mac = keyBytes(s.hmacKey, s.hmacKeyBase64);
  if (mac && (mac.bytes.length < 1 || mac.bytes.length > MAX_HMAC_KEY_BYTES)) {
    fail(mac.raw, `the HMAC key is ${mac.bytes.length} bytes; fwknop allows 1 to ${MAX_HMAC_KEY_BYTES}`);
  }
  return mac;
}

/** GnuPG mode: gpg encrypts; the HMAC is optional, as with fwknop (added whenever a key is given). */
function gpgPacketKeys(s: SpaSettings, warnings: string[]): Pick<SpaRequest, 'keys' | 'digest'> {
  const mac = hmacKeyBytes(s);
  if (!mac && s.useHmac && /^y/i.test(s.useHmac.text)) {
    fail(s.useHmac, 'an HMAC needs a key: give --hmac-key-base64 KEY (or HMAC_KEY_BASE64 in the rc file)');
  }
  if (s.mode) warnings.push(`${s.mode.origin}: ignored: GnuPG mode has no Rijndael encryption mode`);
  const hmacDigest = s.hmacDigest ? parseDigest(s.hmacDigest) : 'sha256';
  const digest = s.digest ? parseDigest(s.digest) : 'sha256';
  const hmacKey = mac ? new Uint8Array(mac.bytes) : undefined;
  return { keys: { key: new Uint8Array(0), hmacKey, hmacDigest, mode: 'cbc' }, digest };
}

/** Seconds asked for (-f); 0 leaves it to the server. */
function clientTimeout(s: SpaSettings): number {
  if (!s.timeout) return 0;
  const t = s.timeout.text.trim();
  // The rc file's FW_TIMEOUT 0 means "the server's default", as with fwknop; -f must ask for something.
  const min = s.timeout.cli ? 1 : 0;
  if (!/^[0-9]{1,6}$/.test(t) || Number(t) < min || Number(t) > MAX_CLIENT_TIMEOUT) {
    fail(s.timeout, `"${s.timeout.text}" is not a timeout in seconds from ${min} to ${MAX_CLIENT_TIMEOUT}`);
  }
  return Number(t);
}

/** The packet's timestamp: now, moved by the time offsets (the command line's beat the rc file's). */
function timestamp(s: SpaSettings, now: number): number {
  let offset = 0;
  if (s.timeOffsetPlus || s.timeOffsetMinus) {
    const plus = s.timeOffsetPlus ? parseTimeOffset(s.timeOffsetPlus, false) : 0;
    const minus = s.timeOffsetMinus ? parseTimeOffset(s.timeOffsetMinus, false) : 0;
    offset = plus - minus;
  } else if (s.timeOffset) {
    offset = parseTimeOffset(s.timeOffset, true);
  }
  const t = Math.floor(now) + offset;
  if (t < 0 || t >= 2 ** 31) throw new SpaInputError(`the time offset puts the timestamp (${t}) outside 0..2^31-1`);
  return t;
}

/** The message's fields; local NAT names the server's own address and port, as fwknop --nat-local does. */
export function messageInput(r: SpaRequest, serverAddress: string = r.host): MessageInput {
  const nat = r.nat && (r.nat.kind === 'forward'
    ? { access: r.nat.access, local: false }
    : { access: `${serverAddress},${r.nat.port}`, local: true });
  return { username: r.username, timestamp: r.timestamp, message: r.message, clientTimeout: r.clientTimeout, ...(nat ? { nat } : {}) };
}

/** The wire text, refused when fwknopd would not try to decrypt it. */
export function encodeRequest(r: SpaRequest, serverAddress: string = r.host): string {
  if (r.gpg) throw new Error('a GnuPG request is encoded by encodeGpgRequest');
  const wire = encodeAccess(messageInput(r, serverAddress), r.keys, { digest: r.digest });
  if (wire.length > RIJNDAEL_WIRE_MAX) {
    throw new SpaInputError(`the SPA packet would be ${wire.length} characters; ` +
      'fwknopd takes 400 or more for GnuPG data and never decrypts it as Rijndael: ' +
      'ask for fewer ports, or use shorter digests (--digest, --hmac-digest) or a shorter user name');
  }
  if (wire.length < WIRE_MIN) {
    throw new SpaInputError(`the SPA packet would be ${wire.length} characters; fwknopd ignores packets under ${WIRE_MIN}`);
  }
  return wire;
}
