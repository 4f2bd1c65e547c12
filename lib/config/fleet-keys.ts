// Keys that join a daemon to a fleet of bastions sharing state in Redis (README "Fleet mode"):
//   [options]  Fleet_Redis = redis://[user@]HOST[:PORT][/DB]  (rediss:// for TLS)
//              Fleet_Password_File = PATH   the secret; never in the URL, never logged
//              Fleet_Name = NAME            key prefix (default sesame)
//              Fleet_Node = NAME            this node (default: the host name)
//   [door]     Fleet_Shared_Knocks = yes    knock progress shared across nodes (ECMP/anycast fronts)
// Each value is checked where it is read, with the line in the error.

import { ConfigError, failAtLine } from './errors.js';
import type { DoorKey, KeyContext, OptionKey, OptionsDraft } from './drafts.js';
import type { FleetOptions } from './types.js';

/** Names that end up in Redis keys and log lines: short, no spaces, no key separators. */
export const FLEET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks a Redis URL; the text is kept as written (less a trailing slash). */
function redisUrl(ctx: KeyContext, value: string): string {
  let u: URL;
  try { u = new URL(value); } catch { failAtLine(ctx, `Fleet_Redis: "${value}" is not a URL (redis://HOST:PORT/DB)`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') failAtLine(ctx, `Fleet_Redis: "${u.protocol}" is not redis: or rediss:`);
  if (u.hostname === '') failAtLine(ctx, 'Fleet_Redis: the URL names no host');
  // A password in a config file that many tools read would leak it: it belongs in its own file.
  if (u.password !== '') failAtLine(ctx, 'Fleet_Redis: the URL holds a password; put it in Fleet_Password_File');
  if (u.search !== '' || u.hash !== '') failAtLine(ctx, 'Fleet_Redis: the URL may not have a query or fragment');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/(?:[0-9]|1[0-5])$/.test(u.pathname)) {
    failAtLine(ctx, `Fleet_Redis: database "${u.pathname.slice(1)}" is not 0..15`);
  }
  return value.replace(/\/$/, '');
}

function fleetName(ctx: KeyContext, key: string, value: string): string {
  if (!FLEET_NAME.test(value)) failAtLine(ctx, `${key}: "${value}" is not a name (letters, digits, _ . -; at most 64)`);
  return value;
}

function fleetDraft(ctx: KeyContext): NonNullable<OptionsDraft['fleet']> {
  ctx.options.fleet ??= { firstLine: ctx.line };
  return ctx.options.fleet;
}

export const FLEET_OPTION_KEYS: readonly OptionKey[] = [
  { names: ['FLEET_REDIS'], apply(value, ctx) { fleetDraft(ctx).redis = { url: redisUrl(ctx, value), line: ctx.line }; } },
  {
    names: ['FLEET_PASSWORD_FILE'],
    apply(value, ctx) {
      if (!value.startsWith('/')) failAtLine(ctx, `Fleet_Password_File: "${value}" is not an absolute path`);
      fleetDraft(ctx).passwordFile = value;
    },
  },
  { names: ['FLEET_NAME'], apply(value, ctx) { fleetDraft(ctx).name = fleetName(ctx, 'Fleet_Name', value); } },
  { names: ['FLEET_NODE'], apply(value, ctx) { fleetDraft(ctx).node = fleetName(ctx, 'Fleet_Node', value); } },
];

export const FLEET_DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['FLEET_SHARED_KNOCKS'],
    apply(door, value, ctx) {
      const v = value.toLowerCase();
      if (v !== 'yes' && v !== 'no') failAtLine(ctx, `Fleet_Shared_Knocks must be yes or no, not "${value}"`);
      door.sharedKnocks = v === 'yes' ? ctx.line : undefined;
    },
  },
];

/** The [options] fleet keys as a whole: Fleet_Redis is what joins; the others need it. */
export function finishFleet(draft: OptionsDraft['fleet'], file: string): FleetOptions | undefined {
  if (!draft) return undefined;
  if (!draft.redis) throw new ConfigError(`config: line ${draft.firstLine}: fleet keys need Fleet_Redis (redis://HOST:PORT/DB)`, file, draft.firstLine);
  return { redis: draft.redis.url, passwordFile: draft.passwordFile, name: draft.name ?? 'sesame', node: draft.node, line: draft.redis.line };
}
