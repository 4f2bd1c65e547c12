// How a Redis URL appears in logs and --status: scheme, user, host, port and database, never a
// password (Fleet_Redis refuses one; this would drop it anyway). Apart from ioredis, so the daemon
// and --status can name the fleet without loading the client.

/** The URL as it may be logged: scheme, user, host, port, database; never a password. */
export function redisLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/**
 * What a Redis reachable by others lets them do without a password or TLS: anyone who can reach it
 * (or read the traffic) can act as a member. Warned at start, not refused (a loopback Redis on a
 * single host is a fair setup).
 */
export function redisWarnings(url: string, hasPassword: boolean): string[] {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '::1';
  const out: string[] = [];
  if (!hasPassword) out.push(`Redis at ${redisLabel(url)} is used without a password (set Fleet_Password_File): anyone who reaches it can act as a member`);
  if (u.protocol === 'redis:' && !loopback) out.push(`Redis at ${redisLabel(url)} is reached without TLS (rediss://): the password and every note cross the network in clear`);
  return out;
}
