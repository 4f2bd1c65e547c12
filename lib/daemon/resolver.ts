// -l: knockers' names for the log (`ip (name)`), through getnameinfo so /etc/hosts counts, as in
// knockd. Bounded cache; a lookup that takes too long gives the bare address.

import { lookupService } from 'node:dns/promises';

const MAX_CACHE = 4096;
const TIMEOUT_MS = 2000;

export class Resolver {
  private readonly cache = new Map<string, string>();

  known(ip: string): boolean { return this.cache.has(ip); }

  /** `ip` or `ip (name)`; only meaningful once resolve(ip) has settled. */
  display(ip: string): string {
    const name = this.cache.get(ip);
    return name && name !== ip ? `${ip} (${name})` : ip;
  }

  async resolve(ip: string): Promise<void> {
    if (this.cache.has(ip)) return;
    let name = ip;
    try {
      const r = await Promise.race([
        lookupService(ip, 0),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), TIMEOUT_MS).unref()),
      ]);
      name = r.hostname;
    } catch { /* no name: the address stands alone */ }
    if (this.cache.size >= MAX_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(ip, name);
  }
}
