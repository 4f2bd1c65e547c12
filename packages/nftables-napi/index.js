// ESM loader for the compiled addon, and the JavaScript half of NftContext: calls on one context
// are queued here (one in flight at a time), so they run in order and waiting calls do not hold
// thread-pool threads. The C++ side also serialises every use of libnftables with a mutex.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const native = require('./build/Release/nftables_napi.node');

export class NftContext {
  #ctx;
  #tail = Promise.resolve();
  #closed = false;

  constructor() {
    this.#ctx = new native.NftContext();
  }

  /**
   * Runs one nft command buffer (several commands, one per line or `;`-separated, form one
   * atomic batch). With `{ json: true }` input and output are JSON.
   */
  run(text, opts = {}) {
    if (typeof text !== 'string') return Promise.reject(new TypeError('run: text must be a string'));
    if (this.#closed) return Promise.reject(new Error('run: context is closed'));
    const json = Boolean(opts && opts.json);
    const ctx = this.#ctx;
    const p = this.#tail.then(() => ctx.run(text, json));
    this.#tail = p.then(() => undefined, () => undefined);
    return p;
  }

  /** `list set FAMILY TABLE SET` as parsed JSON (`{ nftables: [...] }`); rejects with nft's error text. */
  async listSetJson(family, table, set) {
    for (const [what, v] of [['family', family], ['table', table], ['set', set]]) {
      if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(v)) {
        throw new TypeError(`listSetJson: bad ${what} name`);
      }
    }
    const r = await this.run(`list set ${family} ${table} ${set}`, { json: true });
    if (!r.ok) throw new Error(r.error.trim() || 'nft: list set failed');
    return JSON.parse(r.output);
  }

  /** Frees the context after the calls already queued; later calls reject. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const ctx = this.#ctx;
    this.#tail.then(() => ctx.close());
  }
}

/**
 * One named counter of an inet table, read from the kernel directly (no libnftables cache):
 * `{ packets, bytes }`, or null when the table or the counter does not exist.
 */
export function readCounter(table, name) {
  return native.readCounter(table, name);
}

export default { NftContext, readCounter, dump };

/**
 * One inet table's objects straight from the kernel (no libnftables cache, so no set elements
 * unless asked): each message's raw netlink attributes as a Buffer, or null when the table (or
 * set) does not exist. kind: table | chains | sets | objects | rules | elements (with `set`).
 */
export function dump(kind, table, set) {
  return set === undefined ? native.dump(kind, table) : native.dump(kind, table, set);
}
