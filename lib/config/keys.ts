// The table of configuration keys. Each entry names its section, its spellings (knockd's aliases
// included) and how it folds a value into the draft. Later features add entries here; a key not
// in the table stays a syntax error, as in knockd.

import { atoi } from './atoi.js';
import { ConfigError, msg } from './errors.js';
import { parseSequence } from './sequence.js';
import { applyTcpFlags } from './tcpflags.js';
import { canonicalAddress } from './address.js';
import { SPA_DOOR_KEYS } from './spa-keys.js';
import { SPA_GPG_DOOR_KEYS } from './spa-gpg-keys.js';
import { parseOpenPorts } from './port-list.js';
import { SPA_NAT_DOOR_KEYS } from './spa-nat-keys.js';
import { FLEET_DOOR_KEYS, FLEET_OPTION_KEYS } from './fleet-keys.js';
import { SPA_TRANSPORT_OPTION_KEYS } from './spa-transport-keys.js';
import { OBSERVE_OPTION_KEYS } from './observe-keys.js';
import { TOTP_DOOR_KEYS } from './totp-keys.js';
import type { DoorKey, KeyContext, OptionKey } from './drafts.js';

export type { DoorDraft, DoorKey, KeyContext, OptionKey, OptionsDraft, SpaDraft } from './drafts.js';

function fail(ctx: KeyContext, message: string): never {
  throw new ConfigError(message, ctx.file, ctx.line);
}

/** knockd reads numbers with atoi(); keep that, but say so when the text was not a plain number. */
function seconds(ctx: KeyContext, key: string, value: string): number {
  const { value: n, exact } = atoi(value);
  if (!exact) ctx.warnings.push(`${ctx.file}: line ${ctx.line}: ${key} value "${value}" read as ${n}, as knockd does`);
  return n;
}

/** Largest Capture_Buffer (MiB): kernel memory pinned per interface. */
const MAX_CAPTURE_MIB = 1024;

export const OPTION_KEYS: readonly OptionKey[] = [
  {
    names: ['LOGFILE'],
    apply(value, ctx) { ctx.options.logFile = value; },
  },
  {
    names: ['PIDFILE'],
    apply(value, ctx) { ctx.options.pidFile = value; },
  },
  {
    names: ['INTERFACE'],
    // knockd keeps the first Interface line. Sesame also reads a comma list (eth0,wg0).
    apply(value, ctx) {
      if (ctx.options.interfaces !== undefined) return;
      const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (names.length > 0) ctx.options.interfaces = names; // `Interface =` is ignored, as knockd does
    },
  },
  {
    names: ['MATCHING'],
    // Sesame: where knock sequences are matched (docs/kernel-matching.md).
    apply(value, ctx) {
      const v = value.toLowerCase();
      if (v !== 'kernel' && v !== 'pcap' && v !== 'auto') {
        fail(ctx, `config: line ${ctx.line}: Matching must be kernel, pcap or auto, not "${value}"`);
      }
      ctx.options.matching = v;
    },
  },
  {
    names: ['CAPTURE_BUFFER'],
    // Sesame: libpcap's ring per interface, in MiB (pcap matching; bursts beyond it are dropped and logged).
    apply(value, ctx) {
      const mib = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
      if (!(mib >= 1 && mib <= MAX_CAPTURE_MIB)) {
        fail(ctx, `config: line ${ctx.line}: Capture_Buffer must be a size in MiB from 1 to ${MAX_CAPTURE_MIB}, not "${value}"`);
      }
      ctx.options.captureBuffer = mib * 1024 * 1024;
    },
  },
  ...FLEET_OPTION_KEYS,
  ...SPA_TRANSPORT_OPTION_KEYS,
  ...OBSERVE_OPTION_KEYS,
];

export const DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['SEQUENCE'],
    apply(door, value, ctx) {
      const r = parseSequence(door.name, value);
      if (!r.ok) fail(ctx, r.error);
      door.sequence = r.steps;
    },
  },
  {
    names: ['ONE_TIME_SEQUENCES'],
    apply(door, value, ctx) { ctx.loadOneTime(door, value); },
  },
  {
    names: ['SEQ_TIMEOUT', 'TIMEOUT'],
    apply(door, value, ctx) {
      door.seqTimeout = seconds(ctx, 'seq_timeout', value);
      if (door.seqTimeout < 0) {
        ctx.warnings.push(`${ctx.file}: line ${ctx.line}: negative seq_timeout: every multi-port sequence times out`);
      }
    },
  },
  {
    names: ['START_COMMAND', 'COMMAND'],
    apply(door, value) { door.startCommand = value; },
  },
  {
    names: ['START_COMMAND_6', 'COMMAND_6'],
    apply(door, value) { door.startCommand6 = value; },
  },
  {
    names: ['CMD_TIMEOUT'],
    apply(door, value, ctx) {
      const n = seconds(ctx, 'cmd_timeout', value);
      // knockd would sleep ~136 years and never run the stop command: refuse instead.
      if (n < 0) fail(ctx, msg.negativeTimeout(ctx.line, 'cmd_timeout'));
      door.cmdTimeout = n;
    },
  },
  {
    names: ['STOP_COMMAND'],
    apply(door, value) { door.stopCommand = value; },
  },
  {
    names: ['STOP_COMMAND_6'],
    apply(door, value) { door.stopCommand6 = value; },
  },
  {
    names: ['TCPFLAGS'],
    apply(door, value, ctx) {
      const r = applyTcpFlags(door.tcpFlags, value, ctx.line);
      if (!r.ok) fail(ctx, r.error);
      door.tcpFlags = r.rule;
    },
  },
  {
    names: ['TARGET'],
    apply(door, value, ctx) {
      const addr = canonicalAddress(value);
      if (addr === undefined) fail(ctx, msg.badTarget(ctx.line, value));
      door.target = addr;
    },
  },
  {
    names: ['OPEN'],
    // Sesame's own firewall grants: the ports this door opens, guarded and granted in nftables.
    apply(door, value, ctx) {
      door.open = parseOpenPorts(ctx, 'Open', value);
      door.openLine = ctx.line;
    },
  },
  ...SPA_DOOR_KEYS,
  ...SPA_GPG_DOOR_KEYS,
  ...SPA_NAT_DOOR_KEYS,
  ...FLEET_DOOR_KEYS,
  ...TOTP_DOOR_KEYS,
];

function index<T extends { names: readonly string[] }>(keys: readonly T[]): ReadonlyMap<string, T> {
  const m = new Map<string, T>();
  for (const k of keys) for (const n of k.names) m.set(n, k);
  return m;
}

export const OPTION_KEY_INDEX = index(OPTION_KEYS);
export const DOOR_KEY_INDEX = index(DOOR_KEYS);
