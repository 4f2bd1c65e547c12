// A named counter of one of Sesame's inet tables, which also tells whether the table is there.
// Read straight from the kernel through nftables-napi's readCounter (one netlink request): a
// libnftables `list counter` first fetches every set element, which with a flooded knock set
// (260,000 sources) cost 0.6 s and hundreds of MB each time. Without the addon, nft is asked.

import { checkName } from './validate.js';
import type { NftBackend } from './types.js';

type ReadCounter = (table: string, name: string) => { packets: number; bytes: number } | null;
let direct: ReadCounter | undefined;
try { direct = ((await import('nftables-napi')) as { readCounter?: ReadCounter }).readCounter; } catch { direct = undefined; }

/** The counter's packets; undefined when the table or the counter does not exist (or cannot be read). */
export async function readCounterPackets(backend: NftBackend, table: string, name: string): Promise<number | undefined> {
  checkName(table);
  checkName(name);
  if (direct) {
    try { return direct(table, name)?.packets; } catch { /* fall back to nft */ }
  }
  try {
    const json = await backend.run(`list counter inet ${table} ${name}\n`, { json: true });
    const m = /"packets":\s*(\d+)/.exec(json);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
