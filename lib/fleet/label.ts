// How a Redis URL appears in logs and --status: scheme, user, host, port and database, never a
// password (Fleet_Redis refuses one; this would drop it anyway). Apart from ioredis, so the daemon
// and --status can name the fleet without loading the client.

/** The URL as it may be logged: scheme, user, host, port, database; never a password. */
export function redisLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
