// The parsed configuration: plain, deeply frozen data. Nothing here does I/O.

import type { DigestName } from '../spa/digests.js';
import type { CipherMode } from '../spa/cipher.js';
import { SPA_DEFAULT_PORT } from '../spa/wire.js';
import type { ProtoPort, Protocol } from '../net/protocol.js';
import type { Ipv4Network } from '../net/ipv4.js';
import type { Network } from './cidr.js';
import type { CommandTemplate } from '../spa/command-allow.js';
import type { GpgId } from '../spa/gpg-ids.js';
import type { TotpDigits } from '../totp/totp.js';

/** The longest kernel grant (Open =, SPA): a week. The firewall refuses longer timeouts too. */
export const MAX_GRANT_SECONDS = 7 * 24 * 3600;

export type { Protocol } from '../net/protocol.js';

/** One port of a knock sequence. */
export type KnockStep = ProtoPort;

/** TCP flag bits as they sit in the TCP header's flags byte. */
export const TCP_FLAG_BITS = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

export type TcpFlagName = keyof typeof TCP_FLAG_BITS;

/** knockd's order when it prints or compiles flags. */
export const TCP_FLAG_ORDER: readonly TcpFlagName[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

/** Per-flag tri-state folded into two masks: bits that must be set, bits that must be clear. */
export interface TcpFlagRule {
  readonly set: number;
  readonly clear: number;
}

export interface OneTimeSource {
  /** Path of the one-time sequences file. */
  readonly path: string;
  /** 1-based line of the file the current sequence came from. */
  readonly line: number;
}

/** Single Packet Authorization settings of a door (fwknop wire format). */
export interface SpaDoor {
  /** Rijndael passphrase bytes (SPA_Key text or SPA_Key_Base64 decoded): 1..32 bytes; undefined for a GnuPG-only door. */
  readonly key: Uint8Array | undefined;
  /** Required with `key`; optional for GnuPG, where it is checked before any gpg work. */
  readonly hmacKey: Uint8Array | undefined;
  readonly hmacDigest: DigestName;
  readonly mode: Exclude<CipherMode, 'legacy'>;
  /** UDP port the packet is sniffed on (nothing is bound). */
  readonly port: number;
  /** What a client may ask for. */
  readonly openPorts: readonly KnockStep[];
  /** Seconds a packet's timestamp may differ from now, either way. */
  readonly maxAge: number;
  /** Cap for a client-requested timeout, seconds. */
  readonly maxTimeout: number;
  /** Refuse requests for 0.0.0.0 ("use the packet's source"). */
  readonly requireSource: boolean;
  /** NAT access (SPA_Forward, SPA_Local_NAT, SPA_Force_NAT, SPA_SNAT); undefined without any. */
  readonly nat: SpaNat | undefined;
  /** Command messages (SPA_Command_Allow_File, SPA_Command_User); undefined: refused. */
  readonly commands: SpaCommands | undefined;
  /** GnuPG SPA (SPA_GPG_*; lib/config/spa-gpg-keys.ts); undefined: Rijndael only. */
  readonly gpg: SpaGpg | undefined;
}

export interface SpaGpg {
  readonly homeDir: string;
  readonly decryptId: string | undefined;
  /** The secret key's passphrase; undefined with SPA_GPG_Allow_No_Pw. Never logged or printed. */
  readonly passphrase: string | undefined;
  readonly remoteIds: readonly GpgId[];
  readonly requireSig: boolean;
  /** Line of the first SPA_GPG_ key. */
  readonly line: number;
}

/** What command messages may run, and as whom (lib/spa/command-allow.ts). */
export interface SpaCommands {
  readonly path: string;
  readonly allowed: readonly CommandTemplate[];
  /** A user name or numeric uid to run as; undefined: root. */
  readonly user: string | undefined;
  /** Line of SPA_Command_Allow_File. */
  readonly line: number;
}

/** An internal destination a door may forward to (SPA_Forward): an IPv4 network and a port. */
export interface NatDestination extends ProtoPort {
  readonly network: Ipv4Network;
}

/** One internal address and port (SPA_Force_NAT). */
export interface NatAddress extends ProtoPort {
  readonly address: string;
}

export interface SpaNat {
  /** SPA_Forward: what NAT access requests (types 2 and 4) may reach. */
  readonly forward: readonly NatDestination[];
  /** SPA_Local_NAT: local ports that local NAT requests (types 5 and 6) may reach. */
  readonly local: readonly ProtoPort[];
  /** SPA_Force_NAT: every grant of the door goes here, whatever the packet asks. */
  readonly force: NatAddress | undefined;
  /** SPA_SNAT: rewrite the source of forwarded flows: `masquerade` or an IPv4 address. */
  readonly snat: string | undefined;
}

/** A TOTP door (TOTP_* keys, lib/config/totp-keys.ts): an authenticator app's code, knocked as ports. */
export interface TotpDoor {
  /** TOTP_Secret_File: named in --check, never its content. */
  readonly path: string;
  /** The decoded secret. Never logged or printed (only --provision shows it, to its owner). */
  readonly secret: Uint8Array;
  readonly digits: TotpDigits;
  /** Pair i of the code is knocked at portBase + 100·i + pair. */
  readonly portBase: number;
  /** Earlier time steps whose codes are still accepted: 0..2. */
  readonly window: number;
  readonly protocol: Protocol;
  /** Line of TOTP_Port_Base (where range errors point). */
  readonly line: number;
}

/** Max_Failures, Failure_Window, Ban_Time: a source failing too often stops being heard (lib/matcher/bans.ts). */
export interface BanPolicy {
  readonly maxFailures: number;
  /** Seconds within which the failures must fall. */
  readonly failureWindow: number;
  /** Seconds a ban lasts. */
  readonly banTime: number;
  /** Line of Max_Failures (of the first TOTP key for a TOTP door's default policy). */
  readonly line: number;
  /** A TOTP door's default: no Max_Failures key. */
  readonly byDefault?: boolean;
}

export interface Door {
  /** Section name, verbatim (spaces kept), as knockd logs it. */
  readonly name: string;
  /** 1-based config line of the section header. */
  readonly line: number;
  readonly sequence: readonly KnockStep[];
  /** Seconds; knockd's atoi semantics, default 25. */
  readonly seqTimeout: number;
  /** Seconds; default 10. */
  readonly cmdTimeout: number;
  /** undefined = not configured; '' = configured empty (runs nothing). */
  readonly startCommand: string | undefined;
  readonly startCommand6: string | undefined;
  readonly stopCommand: string | undefined;
  readonly stopCommand6: string | undefined;
  readonly tcpFlags: TcpFlagRule;
  /** Destination address (canonical text) the knocks must be sent to; undefined = local addresses. */
  readonly target: string | undefined;
  readonly oneTime: OneTimeSource | undefined;
  /** undefined = a sequence-only door. A door may have a sequence, SPA, or both. */
  readonly spa: SpaDoor | undefined;
  /** `Open =`: ports Sesame guards and grants itself in nftables (kernel-expiring elements). */
  readonly open: readonly KnockStep[] | undefined;
  /** Config line of the `Open` key, for errors found at start-up (no firewall access). */
  readonly openLine: number | undefined;
  /** `Fleet_Shared_Knocks = yes`: its line; undefined when the door's knocks stay on this node. */
  readonly sharedKnocks: number | undefined;
  /** TOTP_*: the code of an authenticator app follows `sequence` (which may be empty). */
  readonly totp: TotpDoor | undefined;
  /** Max_Failures and its companions; undefined: failures are not counted. */
  readonly bans: BanPolicy | undefined;
}

/** Who matches knock sequences: nftables in the kernel, this process from libpcap, or the kernel where it works. */
export type Matching = 'kernel' | 'pcap' | 'auto';

export interface Options {
  readonly useSyslog: boolean;
  readonly logFile: string | undefined;
  readonly pidFile: string | undefined;
  /** Interface names; undefined when the file names none (the CLI or the default decides). */
  readonly interfaces: readonly string[] | undefined;
  /** `Matching =` (Sesame); undefined when the file does not say (the CLI or `auto` decides). */
  readonly matching: Matching | undefined;
  /** `Capture_Buffer =` (Sesame): libpcap's kernel ring per interface, in bytes; undefined = DEFAULTS.captureBuffer. */
  readonly captureBuffer: number | undefined;
  /** Fleet_* keys (Sesame): undefined when this daemon runs alone. */
  readonly fleet: FleetOptions | undefined;
  /** SPA_HTTP_* and SPA_TCP_Port (Sesame): SPA beside UDP; undefined when neither is set. */
  readonly spaTransport: SpaTransport | undefined;
  /** `Metrics_Listen =` (Sesame): where GET /metrics is served; undefined: no metrics listener. */
  readonly metricsListen: ListenAddress | undefined;
  /** Event_* keys (Sesame): where events go; undefined: nowhere. */
  readonly events: EventOptions | undefined;
}

/** An address literal and port to listen on (lib/config/observe-keys.ts). */
export interface ListenAddress { readonly host: string; readonly port: number; readonly line: number }

/** Event_Webhook (with its secret's first line, when signed) and Event_Command. */
export interface EventOptions {
  readonly webhook: { readonly url: string; readonly secretFile: string | undefined; readonly secret: string | undefined } | undefined;
  readonly command: string | undefined;
  /** The first Event_* key's line. */
  readonly line: number;
}

/** SPA over HTTP (sniffed on a web server's port) and over a TCP connection (lib/config/spa-transport-keys.ts). */
export interface SpaTransport {
  /** TCP port whose `GET /<spa>` requests are read as SPA (whatever server answers them). */
  readonly httpPort: number | undefined;
  /** Read requests with any User-Agent, not only fwknop's. */
  readonly anyUserAgent: boolean;
  /** Proxies whose X-Forwarded-For is believed (lib/matcher/forwarded-for.ts). */
  readonly trustedProxies: readonly Network[];
  /** TCP port Sesame listens on for one SPA message per connection (raw or an HTTP GET). */
  readonly tcpPort: number | undefined;
  /** Line of the first of these keys. */
  readonly line: number;
}

/** How this daemon joins a fleet (lib/config/fleet-keys.ts). */
export interface FleetOptions {
  /** redis://, rediss:// or redis+sentinel:// URL, without a password (lib/config/redis-target.ts). */
  readonly redis: string;
  readonly passwordFile: string | undefined;
  /** The fleet's keys (lib/fleet/key-file.ts): required with Fleet_Redis. */
  readonly keyFile: string;
  /** The sentinels' password, when they ask for one (redis+sentinel only). */
  readonly sentinelPasswordFile: string | undefined;
  /** Key prefix shared by the fleet's nodes. */
  readonly name: string;
  /** This node's name; undefined = the host name. */
  readonly node: string | undefined;
  /** Line of Fleet_Redis. */
  readonly line: number;
}

export interface Config {
  readonly path: string;
  readonly options: Options;
  readonly doors: readonly Door[];
  /** Non-fatal remarks (values knockd reads leniently), each naming its line. */
  readonly warnings: readonly string[];
}

export const DEFAULTS = Object.freeze({
  seqTimeout: 25,
  cmdTimeout: 10,
  interface: 'eth0',
  pidFile: '/var/run/knockd.pid',
  configFile: '/etc/knockd.conf',
  maxSequence: 32,
  spaPort: SPA_DEFAULT_PORT,
  spaMaxAge: 120,
  /** libpcap's ring per interface (bytes): about 1,000 slots of the capture's 8 KiB snap length. */
  captureBuffer: 8 * 1024 * 1024,
});

export function deepFreeze<T>(value: T): T {
  // Typed arrays (key bytes) cannot be frozen; they stay private to the config.
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
