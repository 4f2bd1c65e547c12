// Keys that join a daemon to a fleet of bastions sharing state in Redis (docs/fleet.md):
//   [options]  Fleet_Redis = redis://[user@]HOST[:PORT][/DB]  (rediss:// for TLS,
//                 redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB] through Redis Sentinel)
//              Fleet_Key_File = PATH        the fleet's shared key that seals every note (required)
//              Fleet_Password_File = PATH   Redis's password; never in the URL, never logged
//              Fleet_Sentinel_Password_File = PATH   the sentinels' password (redis+sentinel only)
//              Fleet_Name = NAME            key prefix (default sesame)
//              Fleet_Node = NAME            this node (default: the host name)
//   [door]     Fleet_Shared_Knocks = yes    knock progress shared across nodes (ECMP/anycast fronts)
// Each value is checked where it is read, with the line in the error.

import { ConfigError, failAtLine } from './errors.js';
import type { DoorKey, KeyContext, OptionKey, OptionsDraft } from './drafts.js';
import type { FleetOptions } from './types.js';
import { parseRedisTarget } from './redis-target.js';

/** Names that end up in Redis keys and log lines: short, no spaces, no key separators. */
export const FLEET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks a Redis URL; the text is kept as written (less a trailing slash). */
function redisUrl(ctx: KeyContext, value: string): string {
  const r = parseRedisTarget(value);
  if (!r.ok) failAtLine(ctx, `Fleet_Redis: ${r.error}`);
  return value.replace(/\/$/, '');
}

function absolutePath(ctx: KeyContext, key: string, value: string): string {
  if (!value.startsWith('/')) failAtLine(ctx, `${key}: "${value}" is not an absolute path`);
  return value;
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
  { names: ['FLEET_PASSWORD_FILE'], apply(value, ctx) { fleetDraft(ctx).passwordFile = absolutePath(ctx, 'Fleet_Password_File', value); } },
  { names: ['FLEET_KEY_FILE'], apply(value, ctx) { fleetDraft(ctx).keyFile = absolutePath(ctx, 'Fleet_Key_File', value); } },
  {
    names: ['FLEET_SENTINEL_PASSWORD_FILE'],
    apply(value, ctx) {
      fleetDraft(ctx).sentinelPasswordFile = { path: absolutePath(ctx, 'Fleet_Sentinel_Password_File', value), line: ctx.line };
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
  if (!draft.redis) {
    throw new ConfigError(`config: line ${draft.firstLine}: fleet keys need Fleet_Redis (redis://HOST:PORT/DB)`, file, draft.firstLine);
  }
  const line = draft.redis.line;
  // Without the shared key, whoever can write to the Redis could grant access on every node.
  if (!draft.keyFile) {
    throw new ConfigError(`config: line ${line}: Fleet_Redis needs Fleet_Key_File ` +
      '(the fleet\'s shared key, which seals every note; make one with: head -c 32 /dev/urandom | base64)', file, line);
  }
  const sentinelPw = draft.sentinelPasswordFile;
  if (sentinelPw && !draft.redis.url.startsWith('redis+sentinel:')) {
    throw new ConfigError(`config: line ${sentinelPw.line}: Fleet_Sentinel_Password_File needs a redis+sentinel:// Fleet_Redis`,
      file, sentinelPw.line);
  }
  return {
    redis: draft.redis.url, passwordFile: draft.passwordFile, keyFile: draft.keyFile, sentinelPasswordFile: sentinelPw?.path,
    name: draft.name ?? 'sesame', node: draft.node, line,
  };
}
