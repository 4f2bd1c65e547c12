// The fleet part of `knockd --status`: the members whose heartbeat lives in Redis and the fleet's
// live grants with the node each came from. Read straight from Redis; says so when it cannot.

import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import { redisLabel } from '../fleet/label.js';
import { parseRedisTarget } from '../config/redis-target.js';
import { readFleetSecrets } from '../fleet/secrets.js';
import { formatProtoPort } from '../net/protocol.js';

export async function fleetStatusLines(config: Config, now = Date.now()): Promise<string[]> {
  const f = config.options.fleet;
  if (!f) return [];
  const where = `${f.name} (Redis ${redisLabel(f.redis)})`;
  const secrets = readFleetSecrets(f, now);
  if (!secrets.ok) return [`fleet ${where}: ${secrets.error}`];
  const target = parseRedisTarget(f.redis);
  if (!target.ok) return [`fleet ${where}: ${target.error}`];
  let snap;
  try {
    // The Redis client is loaded only for a fleet: knockd without one never holds it.
    const [{ fleetSnapshot }, { redisOptions }, { Sealer }] = await Promise.all([
      import('../fleet/reads.js'), import('../fleet/redis-options.js'), import('../fleet/sealer.js'),
    ]);
    // Only what is sealed with the fleet's keys is listed: a forged member or grant is counted, not shown.
    const sealer = new Sealer(secrets.ring, f.name, 'status', () => randomBytes(12));
    snap = await fleetSnapshot(redisOptions(target.target, secrets.password, secrets.sentinelPassword), f.name, sealer);
  } catch (err) {
    return [`fleet ${where}: unreachable (${(err as Error).message.split('\n')[0]})`];
  }
  const out = [`fleet ${where}: ${snap.members.length} member${snap.members.length === 1 ? '' : 's'}`];
  for (const m of snap.members) out.push(`  node ${m.node}${m.since ? ` up ${Math.max(0, Math.round((now - m.since) / 1000))}s` : ''}`);
  const grants = [...snap.grants].sort((a, b) => a.remainingMs - b.remainingMs);
  out.push(`fleet grants: ${grants.length}`);
  for (const { note: g, remainingMs } of grants) {
    const what = g.nat
      ? `${formatProtoPort(g.nat.external)} -> ${g.nat.kind === 'local' ? `local port ${g.nat.port}` : `${g.nat.address}:${g.nat.port}`}`
      : g.ports ? g.ports.map(formatProtoPort).join(',') : 'knock';
    out.push(`  ${g.ip} ${g.door} ${what} from node ${g.node} expires in ${Math.ceil(remainingMs / 1000)}s (of ${g.timeout}s)`);
  }
  if (snap.bad) out.push(`  (${snap.bad} value${snap.bad === 1 ? '' : 's'} without a valid seal of this fleet, or over, skipped)`);
  return out;
}
