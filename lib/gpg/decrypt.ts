// Server side: decrypt and verify one binary OpenPGP message with `gpg --decrypt` in the door's
// GnuPG home. The passphrase (SPA_GPG_Decrypt_Pw, or the file's text) goes through fd 4 in
// loopback mode; with none, an empty one, so gpg never prompts. Whether the signature is good
// enough is the door's policy (spa/gpg-policy.ts); this says what gpg found.

import type { GpgSignature } from '../spa/gpg-policy.js';
import { parseDecryptStatus } from './status.js';
import { PASSPHRASE_FD, runGpg, STATUS_FD } from './spawn.js';

export interface GpgDecryptOptions {
  /** SPA_GPG_Home_Dir. */
  readonly homeDir: string;
  /** SPA_GPG_Decrypt_Pw; undefined with SPA_GPG_Allow_No_Pw. */
  readonly passphrase?: string;
  readonly gpgPath?: string;
  /** Default 5 s: an RSA-4096 decryption takes ~20 ms, the agent's first start ~100 ms. */
  readonly timeoutMs?: number;
  /** Plaintext cap; an SPA message is under 1500 bytes. Default 8 KiB. */
  readonly maxPlaintext?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export type GpgDecryptRefusal =
  | 'timeout' | 'too-large' | 'spawn-error' | 'no-secret-key' | 'bad-passphrase' | 'symmetric' | 'not-encrypted' | 'decrypt-failed'
  | 'malformed';

export type GpgDecryptResult =
  | { readonly ok: true; readonly plaintext: Buffer; readonly signature: GpgSignature; readonly decryptionKey: string | undefined }
  | { readonly ok: false; readonly reason: GpgDecryptRefusal; readonly detail: string; readonly signature?: GpgSignature };

export const DEFAULT_DECRYPT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_PLAINTEXT = 8192;

/** The command line: nothing from the network is in it. */
export function decryptArgs(o: Pick<GpgDecryptOptions, 'homeDir' | 'maxPlaintext'>): string[] {
  return [
    // Not --quiet: it also silences the NO_SECKEY status line.
    '--homedir', o.homeDir, '--batch', '--no-tty', '--status-fd', String(STATUS_FD),
    '--pinentry-mode', 'loopback', '--passphrase-fd', String(PASSPHRASE_FD),
    // No key server lookups for an unknown signer, and a bound on decompressed output.
    '--no-auto-key-retrieve', '--max-output', String(o.maxPlaintext ?? DEFAULT_MAX_PLAINTEXT),
    '--output', '-', '--decrypt',
  ];
}

export async function gpgDecrypt(message: Uint8Array, o: GpgDecryptOptions): Promise<GpgDecryptResult> {
  const max = o.maxPlaintext ?? DEFAULT_MAX_PLAINTEXT;
  const run = await runGpg({
    ...(o.gpgPath !== undefined ? { gpgPath: o.gpgPath } : {}),
    ...(o.env !== undefined ? { env: o.env } : {}),
    args: decryptArgs(o), input: message, passphrase: o.passphrase ?? '',
    timeoutMs: o.timeoutMs ?? DEFAULT_DECRYPT_TIMEOUT_MS, maxOutput: max,
  });
  const lastWords = run.stderr.trim().split('\n').slice(-2).join(' / ');
  const timeout = o.timeoutMs ?? DEFAULT_DECRYPT_TIMEOUT_MS;
  if (run.end === 'timeout') return { ok: false, reason: 'timeout', detail: `gpg did not finish in ${timeout} ms` };
  if (run.end === 'too-large') return { ok: false, reason: 'too-large', detail: `gpg wrote more than ${max} bytes` };
  if (run.end === 'spawn-error') return { ok: false, reason: 'spawn-error', detail: `cannot run gpg: ${run.error ?? ''}` };
  const st = parseDecryptStatus(run.status);
  const fail = (reason: GpgDecryptRefusal, detail: string): GpgDecryptResult => ({ ok: false, reason, detail, signature: st.signature });
  // A passphrase-encrypted message would be opened with the door's own passphrase: never.
  if (st.symmetric) return fail('symmetric', 'the message is passphrase-encrypted, not to the door\'s key');
  if (st.noSecretKey) return fail('no-secret-key', `encrypted to ${st.encTo.join(', ')}: no secret key for it in the GnuPG home`);
  if (st.badPassphrase) return fail('bad-passphrase', 'the decryption key\'s passphrase is wrong or missing');
  const said = st.errors.join('; ') || lastWords || `gpg exit ${run.code}`;
  if (st.encTo.length === 0) return fail('not-encrypted', `not an encrypted message (${said})`);
  if (!st.decrypted) return fail('decrypt-failed', said);
  // gpg decrypts a message with data appended (NODATA) or a second message after it (ERROR) and
  // still says DECRYPTION_OKAY: another wire text for the same message would dodge a replay cache.
  const extra = st.errors.filter((e) => /^(NODATA|ERROR) /.test(e));
  if (extra.length) return fail('malformed', `more than one OpenPGP message, or data after it (${extra.join('; ')})`);
  return { ok: true, plaintext: run.stdout, signature: st.signature, decryptionKey: st.decryptionKey };
}
