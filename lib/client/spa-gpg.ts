// `knock --spa` in GnuPG mode, fwknop's options and rc keys by the same names: --gpg-encryption
// (USE_GPG), --gpg-recipient-key (GPG_RECIPIENT), --gpg-signer-key (GPG_SIGNER), --gpg-home-dir
// (GPG_HOMEDIR), --gpg-no-signing-pw (GPG_NO_SIGNING_PW), --gpg-agent (USE_GPG_AGENT), --gpg-exe
// (GPG_EXE), GPG_SIGNING_PW / GPG_SIGNING_PW_BASE64 (or KEY / KEY_BASE64, fwknop's synonyms).
// fwknop asks for a signing passphrase on the terminal when none is set; knock does not prompt:
// it says which of those to give.

import type { Raw } from './fwknoprc.js';
import { SpaInputError } from './spa-input-error.js';

/** The GnuPG settings, as text with their origin (part of SpaSettings). */
export interface GpgSettings {
  gpg?: Raw;
  gpgRecipient?: Raw;
  gpgSigner?: Raw;
  gpgHomeDir?: Raw;
  gpgNoSigningPw?: Raw;
  gpgAgent?: Raw;
  gpgSigningPw?: Raw;
  gpgSigningPwBase64?: Raw;
  gpgExe?: Raw;
}

/** What the client hands to gpg. */
export interface GpgRequest {
  readonly recipient: string;
  readonly signer: string | undefined;
  readonly homeDir: string | undefined;
  /** The signing passphrase ('' for --gpg-no-signing-pw), undefined when unsigned or with the agent. */
  readonly passphrase: string | undefined;
  readonly useAgent: boolean;
  readonly gpgPath: string | undefined;
}

const yes = (r: Raw | undefined) => r !== undefined && /^y/i.test(r.text.trim());
const value = (r: Raw | undefined) => (r && r.text.trim() !== '' ? r.text.trim() : undefined);

/** GnuPG mode asked for (USE_GPG Y or --gpg-encryption)? */
export const wantsGpg = (s: GpgSettings): boolean => yes(s.gpg);

/**
 * The GnuPG part of a request; undefined when not in GnuPG mode. `key` and `keyBase64` are the
 * Rijndael key settings, which fwknop reads as the signing passphrase in this mode.
 */
export function gpgRequest(s: GpgSettings & { key?: Raw; keyBase64?: Raw }, warnings: string[]): GpgRequest | undefined {
  if (!wantsGpg(s)) {
    const stray = s.gpgRecipient ?? s.gpgSigner;
    if (stray?.cli) warnings.push(`${stray.origin}: ignored without --gpg-encryption (USE_GPG Y)`);
    return undefined;
  }
  const recipient = value(s.gpgRecipient);
  if (!recipient) {
    throw new SpaInputError('GnuPG mode needs the server\'s key: give --gpg-recipient-key KEY (or GPG_RECIPIENT in the rc file)');
  }
  const signer = value(s.gpgSigner);
  const useAgent = yes(s.gpgAgent);
  let passphrase: string | undefined;
  if (signer !== undefined && !useAgent) {
    if (yes(s.gpgNoSigningPw)) passphrase = '';
    else if (s.gpgSigningPwBase64) passphrase = fromBase64(s.gpgSigningPwBase64);
    else if (s.gpgSigningPw) passphrase = s.gpgSigningPw.text;
    else if (s.keyBase64) passphrase = fromBase64(s.keyBase64);
    else if (s.key) passphrase = s.key.text;
    else {
      throw new SpaInputError(`the signing key ${signer} needs its passphrase: give GPG_SIGNING_PW in the rc file, ` +
        '--gpg-agent (gpg-agent supplies it), or --gpg-no-signing-pw for a key without one');
    }
  }
  if (signer === undefined) {
    warnings.push('the SPA message is not signed (no --gpg-signer-key): servers that require a signature refuse it');
  }
  return {
    recipient, signer, homeDir: value(s.gpgHomeDir), passphrase, useAgent, gpgPath: value(s.gpgExe),
  };
}

function fromBase64(r: Raw): string {
  if (!/^[A-Za-z0-9+/]+=*$/.test(r.text.trim())) throw new SpaInputError(`${r.origin}: not valid base64`);
  return Buffer.from(r.text.trim(), 'base64').toString('utf8');
}
