// Door keys of TOTP doors and of bans (docs/totp.md):
//   TOTP_Secret_File = PATH     base32 secret, one line, readable by its owner alone
//   TOTP_Digits = 6 | 8         default 6
//   TOTP_Port_Base = N          pair i of the code is knocked at N + 100·i + pair
//   TOTP_Window = 0..2          earlier 30 s steps still accepted, default 1
//   TOTP_Protocol = tcp | udp   default tcp
//   Max_Failures = N            (any door) failures from one source that ban it, 1..1000; 0: none
//                               (a TOTP door's default is 10: a 6-digit code falls to guessing)
//   Failure_Window = S          seconds they must fall within, default 300
//   Ban_Time = S                seconds a ban lasts, default 3600
// A TOTP door's static Sequence (if any) is knocked first, then the code.

import { ConfigError, failAtLine } from './errors.js';
import type { DoorDraft, DoorKey, KeyContext } from './drafts.js';
import { MAX_GRANT_SECONDS, type BanPolicy, type Door, type TotpDoor } from './types.js';
import { parsePort } from './port-list.js';
import { parseSecretFile } from '../totp/secret.js';
import { codePortRange, codeRangeProblem } from '../totp/ports.js';

export const TOTP_DEFAULTS = Object.freeze({ digits: 6 as const, window: 1, protocol: 'tcp' as const });
export const BAN_DEFAULTS = Object.freeze({ failureWindow: 300, banTime: 3600, totpMaxFailures: 10 });
const MAX_FAILURES = 1000;
const MAX_FAILURE_WINDOW = 86_400;

function totp(door: DoorDraft, ctx: KeyContext): NonNullable<DoorDraft['totp']> {
  door.totp ??= { line: ctx.line };
  return door.totp;
}

function bans(door: DoorDraft, ctx: KeyContext): NonNullable<DoorDraft['bans']> {
  door.bans ??= { line: ctx.line };
  return door.bans;
}

/** A plain decimal integer within [min, max], or an error naming the key. */
function integer(ctx: KeyContext, key: string, value: string, min: number, max: number): number {
  const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) failAtLine(ctx, `${key} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

export const TOTP_DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['TOTP_SECRET_FILE'],
    apply(door, value, ctx) {
      if (!value.startsWith('/')) failAtLine(ctx, `TOTP_Secret_File: "${value}" is not an absolute path`);
      const r = parseSecretFile(ctx.readSecret(value));
      if (!r.ok) failAtLine(ctx, `TOTP_Secret_File ${value} ${r.error}`);
      Object.assign(totp(door, ctx), { path: value, secret: r.secret });
    },
  },
  {
    names: ['TOTP_DIGITS'],
    apply(door, value, ctx) {
      if (value !== '6' && value !== '8') failAtLine(ctx, `TOTP_Digits must be 6 or 8, not "${value}"`);
      totp(door, ctx).digits = value === '6' ? 6 : 8;
    },
  },
  {
    names: ['TOTP_PORT_BASE'],
    apply(door, value, ctx) { totp(door, ctx).portBase = { port: parsePort(ctx, 'TOTP_Port_Base', value, 'TCP'), line: ctx.line }; },
  },
  {
    names: ['TOTP_WINDOW'],
    apply(door, value, ctx) { totp(door, ctx).window = integer(ctx, 'TOTP_Window', value, 0, 2); },
  },
  {
    names: ['TOTP_PROTOCOL'],
    apply(door, value, ctx) {
      const v = value.toLowerCase();
      if (v !== 'tcp' && v !== 'udp') failAtLine(ctx, `TOTP_Protocol must be tcp or udp, not "${value}"`);
      totp(door, ctx).protocol = v;
    },
  },
  {
    names: ['MAX_FAILURES'],
    apply(door, value, ctx) {
      const b = bans(door, ctx);
      b.line = ctx.line;
      b.maxFailures = integer(ctx, 'Max_Failures', value, 0, MAX_FAILURES);
    },
  },
  {
    names: ['FAILURE_WINDOW'],
    apply(door, value, ctx) { bans(door, ctx).failureWindow = integer(ctx, 'Failure_Window', value, 1, MAX_FAILURE_WINDOW); },
  },
  {
    names: ['BAN_TIME'],
    apply(door, value, ctx) { bans(door, ctx).banTime = integer(ctx, 'Ban_Time', value, 1, MAX_GRANT_SECONDS); },
  },
];

const err = (file: string, line: number, text: string) => new ConfigError(`config: line ${line}: ${text}`, file, line);

/** The door's TOTP keys as a whole: the secret and the port base are required, the range must fit. */
export function finishTotp(d: DoorDraft, file: string): TotpDoor | undefined {
  const t = d.totp;
  if (!t) return undefined;
  if (!t.path || !t.secret) throw err(file, t.line, `section ${d.name}: TOTP keys need TOTP_Secret_File`);
  if (!t.portBase) throw err(file, t.line, `section ${d.name}: TOTP keys need TOTP_Port_Base`);
  const digits = t.digits ?? TOTP_DEFAULTS.digits;
  const problem = codeRangeProblem(t.portBase.port, digits);
  if (problem) throw err(file, t.portBase.line, `TOTP_Port_Base ${t.portBase.port}: ${problem}`);
  if (d.oneTime) throw err(file, t.line, `section ${d.name}: TOTP keys cannot be used with One_Time_Sequences`);
  if (d.sharedKnocks !== undefined) {
    throw err(file, d.sharedKnocks,
      `section ${d.name}: Fleet_Shared_Knocks cannot be used with TOTP keys (a code is judged where its last knock lands)`);
  }
  return {
    path: t.path, secret: t.secret, digits, portBase: t.portBase.port, window: t.window ?? TOTP_DEFAULTS.window,
    protocol: t.protocol ?? TOTP_DEFAULTS.protocol, line: t.portBase.line,
  };
}

/** The door's ban policy: its keys, or a TOTP door's default; none with `Max_Failures = 0`. */
export function finishBans(d: DoorDraft, file: string): BanPolicy | undefined {
  const byDefault = d.bans?.maxFailures === undefined;
  const b = d.bans ?? (d.totp ? { line: d.totp.line, maxFailures: BAN_DEFAULTS.totpMaxFailures } : undefined);
  if (!b) return undefined;
  if (b.maxFailures === undefined) {
    if (!d.totp) throw err(file, b.line, `section ${d.name}: Failure_Window and Ban_Time need Max_Failures`);
    b.maxFailures = BAN_DEFAULTS.totpMaxFailures;
  }
  if (b.maxFailures === 0) return undefined;
  return {
    maxFailures: b.maxFailures, failureWindow: b.failureWindow ?? BAN_DEFAULTS.failureWindow, banTime: b.banTime ?? BAN_DEFAULTS.banTime,
    line: b.line, ...(byDefault ? { byDefault: true } : {}),
  };
}

/** The ports a door listens on for knocks, as protocol and inclusive ranges (a static port is a range of one). */
function knockRanges(d: Door): { protocol: string; first: number; last: number; what: string }[] {
  const out = d.sequence.map((s) => ({ protocol: s.protocol, first: s.port, last: s.port, what: `${s.protocol}/${s.port}` }));
  if (d.spa) out.push({ protocol: 'udp', first: d.spa.port, last: d.spa.port, what: `SPA_Port ${d.spa.port}` });
  if (d.totp) {
    const { first, last } = codePortRange(d.totp.portBase, d.totp.digits);
    out.push({ protocol: d.totp.protocol, first, last, what: `TOTP ports ${d.totp.protocol}/${first}-${last}` });
  }
  return out;
}

/** A TOTP door's code ports may not overlap another door's knock ports (whose would a knock be?). */
export function checkTotpRanges(doors: readonly Door[], file: string): void {
  for (const [i, d] of doors.entries()) {
    if (!d.totp) continue;
    const { first, last } = codePortRange(d.totp.portBase, d.totp.digits);
    for (const [j, o] of doors.entries()) {
      if (j === i) continue;
      const hit = knockRanges(o).find((r) => r.protocol === d.totp!.protocol && r.first <= last && r.last >= first);
      if (hit) {
        const mine = `${d.totp.protocol}/${first}-${last}`;
        throw err(file, d.totp.line, `section ${d.name}: TOTP ports ${mine} overlap ${hit.what} of section ${o.name}`);
      }
    }
  }
}
