// Where a fleet's Redis is (Fleet_Redis): one server, or a master found through Redis Sentinel.
//   redis://[USER@]HOST[:PORT][/DB]          rediss:// for TLS
//   redis+sentinel://[USER@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]   sentinels (port 26379)
// Pure: the text in, the parts (or why not) out. Passwords never appear here (their own files).

import { ipVersion } from '../net/ip.js';
import { failure, type Result } from '../errors/result.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | {
    readonly kind: 'direct'; readonly host: string; readonly port: number; readonly db: number; readonly username?: string;
    readonly tls: boolean;
  }
  | {
    readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly master: string; readonly db: number;
    readonly username?: string;
  };

const MASTER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$/;
const MAX_SENTINELS = 16;

function decodeUser(text: string): string | undefined {
  try { return decodeURIComponent(text); } catch { return undefined; }
}

function db(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return 0;
  return /^(?:[0-9]|1[0-5])$/.test(text) ? Number(text) : undefined;
}

function hostPort(text: string, defaultPort: number): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined ? ipVersion(host) !== 6 : !(ipVersion(host) === 4 || HOSTNAME.test(host))) return undefined;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

function sentinelTarget(value: string): Result<{ target: RedisTarget }> {
  const m = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/@]+)\/([^/]+)(?:\/([^/]*))?\/?$/.exec(value);
  if (!m) return failure(`"${value}" is not redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]`);
  const [, user, hosts, master, dbText] = m;
  if (user !== undefined && user.includes(':')) {
    return failure('the URL holds a password; put it in Fleet_Password_File (Fleet_Sentinel_Password_File for the sentinels)');
  }
  const username = user ? decodeUser(user) : undefined;
  if (user && username === undefined) return failure(`user "${user}" is not URL-encoded text`);
  const sentinels: HostPort[] = [];
  for (const h of hosts!.split(',')) {
    const hp = hostPort(h, 26379);
    if (!hp) return failure(`sentinel "${h}" is not HOST[:PORT]`);
    sentinels.push(hp);
  }
  if (sentinels.length > MAX_SENTINELS) return failure(`at most ${MAX_SENTINELS} sentinels`);
  if (!MASTER.test(master!)) return failure(`master name "${master}" is not a name (letters, digits, _ . -)`);
  const n = db(dbText);
  if (n === undefined) return failure(`database "${dbText}" is not 0..15`);
  return { ok: true, target: { kind: 'sentinel', sentinels, master: master!, db: n, ...(username ? { username } : {}) } };
}

export function parseRedisTarget(value: string): Result<{ target: RedisTarget }> {
  if (value.startsWith('redis+sentinel:')) return sentinelTarget(value);
  let u: URL;
  try { u = new URL(value); } catch { return failure(`"${value}" is not a URL (redis://HOST:PORT/DB)`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return failure(`"${u.protocol}" is not redis:, rediss: or redis+sentinel:`);
  if (u.hostname === '') return failure('the URL names no host');
  // A password in a config file that many tools read would leak it: it belongs in its own file.
  if (u.password !== '') return failure('the URL holds a password; put it in Fleet_Password_File');
  if (u.search !== '' || u.hash !== '') return failure('the URL may not have a query or fragment');
  const n = db(u.pathname.replace(/^\/|\/$/g, ''));
  if (n === undefined) return failure(`database "${u.pathname.slice(1)}" is not 0..15`);
  if (u.port === '0') return failure('port 0 is not a port');
  const username = u.username ? decodeUser(u.username) : undefined;
  if (u.username && username === undefined) return failure(`user "${u.username}" is not URL-encoded text`);
  return {
    ok: true,
    target: {
      kind: 'direct', host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379, db: n,
      ...(username ? { username } : {}), tls: u.protocol === 'rediss:',
    },
  };
}

/** The hosts this node connects to first (the server, or the sentinels). */
export function targetHosts(t: RedisTarget): readonly HostPort[] {
  return t.kind === 'direct' ? [{ host: t.host, port: t.port }] : t.sentinels;
}
