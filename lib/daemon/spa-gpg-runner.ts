// Carries out 'gpg' effects: each door's readings of a GnuPG SPA message go to `gpg --decrypt` in
// the door's GnuPG home, through one bounded pool (2 at once, 8 waiting; more are refused, never
// queued without end), and the outcome goes back to the engine as a 'gpg-done' input. The packet
// path never waits for gpg. On shutdown the gpg-agents these homes started are stopped.

import { spawn } from 'node:child_process';
import type { Effect } from '../engine/effects.js';
import type { GpgOutcome } from '../matcher/spa-gpg.js';
import { gpgDecrypt, type GpgDecryptResult } from '../gpg/decrypt.js';
import { BUSY, GpgPool } from '../gpg/pool.js';
import { printable } from '../spa/printable.js';

export class SpaGpgRunner {
  private readonly pool = new GpgPool(2, 8);
  private readonly homes = new Set<string>();

  constructor(private readonly done: (id: number, outcome: GpgOutcome) => void, private readonly gpgPath?: string) {}

  run(e: Extract<Effect, { kind: 'gpg' }>): void {
    void this.pool.submit(() => this.decrypt(e)).then(
      (r) => this.done(e.id, r === BUSY ? { ok: false, reason: `busy (${this.pool.maxRunning} gpg runs and a full queue)` } : r),
      (err: unknown) => this.done(e.id, { ok: false, reason: `gpg failed: ${(err as Error).message}` }),
    );
  }

  private async decrypt(e: Extract<Effect, { kind: 'gpg' }>): Promise<GpgOutcome> {
    let last: GpgDecryptResult | undefined;
    for (const t of e.tries) {
      const g = t.door.spa!.gpg!;
      this.homes.add(g.homeDir);
      for (const message of t.messages) {
        const r = await gpgDecrypt(message, {
          homeDir: g.homeDir, ...(g.passphrase !== undefined ? { passphrase: g.passphrase } : {}),
          ...(this.gpgPath ? { gpgPath: this.gpgPath } : {}),
        });
        if (r.ok) return { ok: true, doorIndex: t.doorIndex, plaintext: r.plaintext, signature: r.signature };
        last = r;
      }
    }
    // gpg's own words may hold anything the packet carried: printable only.
    if (!last || last.ok) return { ok: false, reason: 'nothing to decrypt' };
    return { ok: false, reason: `${last.reason.replace(/-/g, ' ')} (${printable(last.detail, 100)})` };
  }

  /** Stops the gpg-agents of the homes used (gpg starts one per home, and it outlives gpg). */
  stop(): void {
    for (const home of this.homes) spawn('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' }).on('error', () => {});
  }
}
