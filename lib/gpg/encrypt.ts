// Client side: encrypt (and sign) an SPA plaintext as fwknop does through gpgme: one recipient,
// always trusted (gpgme's GPGME_ENCRYPT_ALWAYS_TRUST), one optional signer, binary output. The
// signing passphrase goes through fd 4 in loopback mode; with `useAgent` gpg-agent asks for it.

import { ERROR_CODES, SesameError } from '../errors/errors.js';
import { PASSPHRASE_FD, runGpg, STATUS_FD } from './spawn.js';

export interface GpgEncryptOptions {
  /** --gpg-home-dir / GPG_HOMEDIR; gpg's default (~/.gnupg) when undefined. */
  readonly homeDir?: string;
  /** --gpg-recipient-key / GPG_RECIPIENT: a key ID, fingerprint or user ID. */
  readonly recipient: string;
  /** --gpg-signer-key / GPG_SIGNER; unsigned when undefined. */
  readonly signer?: string;
  /** The signing key's passphrase ('' for --gpg-no-signing-pw); unused with useAgent. */
  readonly passphrase?: string;
  /** --gpg-agent: let gpg-agent supply (or ask for) the passphrase. */
  readonly useAgent?: boolean;
  readonly gpgPath?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export class GpgError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.gpg);
    this.name = 'GpgError';
  }
}

/** An OpenPGP message of an SPA plaintext (< 1.5 KB) stays well under this. */
const MAX_MESSAGE = 64 * 1024;

export function encryptArgs(o: GpgEncryptOptions): string[] {
  const args = [
    ...(o.homeDir !== undefined ? ['--homedir', o.homeDir] : []),
    '--batch', '--no-tty', '--status-fd', String(STATUS_FD), '--no-auto-key-retrieve',
    '--trust-model', 'always', '--recipient', o.recipient,
  ];
  if (o.signer !== undefined) {
    args.push('--local-user', o.signer);
    if (!o.useAgent) args.push('--pinentry-mode', 'loopback', '--passphrase-fd', String(PASSPHRASE_FD));
    args.push('--sign');
  }
  args.push('--output', '-', '--encrypt');
  return args;
}

/** The binary OpenPGP message; throws GpgError with gpg's own words on failure. */
export async function gpgEncrypt(plaintext: Uint8Array, o: GpgEncryptOptions): Promise<Buffer> {
  const run = await runGpg({
    ...(o.gpgPath !== undefined ? { gpgPath: o.gpgPath } : {}),
    ...(o.env !== undefined ? { env: o.env } : {}),
    args: encryptArgs(o), input: plaintext,
    ...(o.signer !== undefined && !o.useAgent ? { passphrase: o.passphrase ?? '' } : {}),
    timeoutMs: o.timeoutMs ?? 60_000, maxOutput: MAX_MESSAGE,
  });
  const said = run.stderr.trim().split('\n').filter(Boolean).slice(-3).join('; ');
  if (run.end === 'spawn-error') throw new GpgError(`cannot run ${o.gpgPath ?? 'gpg'}: ${run.error ?? ''}`);
  if (run.end === 'timeout') throw new GpgError('gpg did not finish in time');
  if (run.end === 'too-large') throw new GpgError('gpg wrote an unexpectedly large message');
  if (run.code !== 0 || run.stdout.length === 0) {
    const badPw = /\[GNUPG:\] (BAD_PASSPHRASE|MISSING_PASSPHRASE)/.test(run.status) || /(Bad|No) passphrase/i.test(run.stderr);
    const hint = badPw ? ' (the signing key\'s passphrase is wrong or missing: GPG_SIGNING_PW, --gpg-agent)' : '';
    const what = o.signer !== undefined ? 'encrypt and sign' : 'encrypt';
    throw new GpgError(`gpg could not ${what} the SPA message: ${said || `exit ${run.code}`}${hint}`);
  }
  return run.stdout;
}
