// Throw-away GnuPG homes for tests: keys made with `gpg --batch --quick-gen-key` (a sign+certify
// primary key and an encryption subkey, optionally a signing subkey), exported from one home into
// another; remove() stops the home's gpg-agent and deletes it.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GPG = '/usr/bin/gpg';

export interface TestKey {
  readonly uid: string;
  /** Primary key fingerprint. */
  readonly fpr: string;
  /** Encryption subkey fingerprint. */
  readonly encFpr: string;
  /** Signing subkey fingerprint, when made with one. */
  readonly signFpr?: string;
}

export type KeyAlgo = 'rsa2048' | 'rsa3072' | 'rsa4096' | 'ed25519' | 'nistp256';
const ENC_OF: Readonly<Record<KeyAlgo, string>> = {
  rsa2048: 'rsa2048', rsa3072: 'rsa3072', rsa4096: 'rsa4096', ed25519: 'cv25519', nistp256: 'nistp256',
};

export class GpgHome {
  readonly dir: string;
  constructor(tag: string, base = tmpdir()) {
    // Short: gpg-agent's socket path must fit a sockaddr_un.
    this.dir = mkdtempSync(join(base, `g${tag}-`));
    chmodSync(this.dir, 0o700);
  }

  gpg(args: string[], input?: string | Buffer): Buffer {
    return execFileSync(GPG, ['--homedir', this.dir, '--batch', '--no-tty', ...args], {
      input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000,
    });
  }

  private fprs(uid: string): Array<{ kind: string; fpr: string; usage: string }> {
    const out = this.gpg(['--with-colons', '--list-keys', uid]).toString();
    const rows: Array<{ kind: string; fpr: string; usage: string }> = [];
    let last: { kind: string; usage: string } | undefined;
    for (const line of out.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub' || f[0] === 'sub') last = { kind: f[0], usage: f[11] ?? '' };
      else if (f[0] === 'fpr' && last) { rows.push({ ...last, fpr: f[9]! }); last = undefined; }
    }
    return rows;
  }

  /** A key with an encryption subkey; `signingSubkey`: a separate signing subkey too. */
  makeKey(name: string, algo: KeyAlgo, o: { passphrase?: string; signingSubkey?: boolean } = {}): TestKey {
    const uid = `${name} <${name}@sesame.test>`;
    const pw = ['--pinentry-mode', 'loopback', '--passphrase', o.passphrase ?? ''];
    this.gpg([...pw, '--quick-gen-key', uid, algo, 'sign,cert', 'never']);
    const fpr = this.fprs(uid)[0]!.fpr;
    this.gpg([...pw, '--quick-add-key', fpr, ENC_OF[algo], 'encr', 'never']);
    if (o.signingSubkey) this.gpg([...pw, '--quick-add-key', fpr, algo, 'sign', 'never']);
    const rows = this.fprs(uid);
    const encFpr = rows.find((r) => r.kind === 'sub' && r.usage.includes('e'))!.fpr;
    const signFpr = rows.find((r) => r.kind === 'sub' && r.usage.includes('s'))?.fpr;
    return { uid, fpr, encFpr, ...(signFpr ? { signFpr } : {}) };
  }

  exportTo(key: TestKey, other: GpgHome): void {
    other.gpg(['--import'], this.gpg(['--export', key.fpr]));
  }

  /** Certify `key` (already imported) with this home's own key: it becomes fully valid here. */
  lsign(key: TestKey, withKey: TestKey, passphrase = ''): void {
    this.gpg(['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--yes', '--default-key', withKey.fpr, '--quick-lsign-key', key.fpr]);
  }

  remove(): void {
    try { execFileSync('gpgconf', ['--homedir', this.dir, '--kill', 'gpg-agent'], { stdio: 'ignore', timeout: 10_000 }); } catch { /* none */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
