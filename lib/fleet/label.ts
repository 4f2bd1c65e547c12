// How a Redis URL appears in logs and --status: scheme, user, hosts and database, never a password
// (Fleet_Redis refuses one). Apart from ioredis, so the daemon and --status can name the fleet
// without loading the client.

import { parseRedisTarget, targetHosts } from '../config/redis-target.js';

/** The URL as it may be logged: scheme, user, host(s), port(s), database; never a password. */
export function redisLabel(url: string): string {
  if (url.startsWith('redis+sentinel:')) return url.replace(/\/$/, '');
  const u = new URL(url);
  return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

const isLoopback = (host: string) => host === 'localhost' || /^127\./.test(host) || host === '::1';

/**
 * What a Redis reachable by others lets them do without a password or TLS: anyone who can reach it
 * can delete or block the fleet's state (notes are sealed: they cannot forge one), and anyone who
 * can read the traffic learns the password. Warned at start, not refused (a loopback Redis on a
 * single host is a fair setup).
 */
export function redisWarnings(url: string, hasPassword: boolean): string[] {
  const r = parseRedisTarget(url);
  if (!r.ok) return [];
  const t = r.target;
  const out: string[] = [];
  if (!hasPassword) {
    out.push(`Redis at ${redisLabel(url)} is used without a password (set Fleet_Password_File): ` +
      'anyone who reaches it can read, delete or block the fleet\'s state');
  }
  const clear = t.kind === 'sentinel' || !t.tls;
  if (clear && targetHosts(t).some((h) => !isLoopback(h.host))) {
    out.push(`Redis at ${redisLabel(url)} is reached without TLS${t.kind === 'direct' ? ' (rediss://)' : ''}: ` +
      'the password and every note cross the network in clear');
  }
  return out;
}
