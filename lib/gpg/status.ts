// gpg's machine-readable status lines (`--status-fd`, doc/DETAILS in GnuPG) read into what one
// decryption did: whether it decrypted with a public key, and what it said of the signature.
// Pure: the text comes in. Lines other than "[GNUPG:] KEYWORD args" are ignored.

import type { GpgSigStatus, GpgSignature, GpgTrust } from '../spa/gpg-policy.js';

export interface GpgDecryptStatus {
  /** DECRYPTION_OKAY, and no DECRYPTION_FAILED after it. */
  readonly decrypted: boolean;
  /** The secret key used (DECRYPTION_KEY: subkey fingerprint), when gpg says. */
  readonly decryptionKey: string | undefined;
  /** Key IDs the message was encrypted to (ENC_TO). */
  readonly encTo: readonly string[];
  /** NO_SECKEY for every recipient: none of ours. */
  readonly noSecretKey: boolean;
  /** A passphrase-encrypted session key was asked about (NEED_PASSPHRASE_SYM): not a public-key message. */
  readonly symmetric: boolean;
  readonly badPassphrase: boolean;
  readonly signature: GpgSignature;
  /** FAILURE / ERROR / NODATA lines, as "KEYWORD args", for the log. */
  readonly errors: readonly string[];
}

const PREFIX = '[GNUPG:] ';
const FPR = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;
const TRUST: Readonly<Record<string, GpgTrust>> = {
  TRUST_UNDEFINED: 'undefined', TRUST_NEVER: 'never', TRUST_MARGINAL: 'marginal', TRUST_FULLY: 'fully', TRUST_ULTIMATE: 'ultimate',
};
/** The keywords that open a signature's verdict, and what they mean. */
const SIG_KEYWORDS: Readonly<Record<string, GpgSigStatus>> = {
  GOODSIG: 'good', BADSIG: 'bad', EXPSIG: 'expired-sig', EXPKEYSIG: 'expired-key', REVKEYSIG: 'revoked-key', ERRSIG: 'error',
};
/** ERRSIG's rc 9: no public key. */
const ERRSIG_NO_PUBKEY = '9';
/** `ERROR pkdecrypt_failed CODE`: libgpg-error codes (low 16 bits) of a wrong or missing passphrase. */
const PASSPHRASE_ERRORS = new Set([11, 177]);

export function parseDecryptStatus(text: string): GpgDecryptStatus {
  let decrypted = false;
  let decryptionKey: string | undefined;
  const encTo: string[] = [];
  let noSeckeys = 0;
  let symmetric = false;
  let badPassphrase = false;
  let count = 0;
  let status: GpgSigStatus = 'missing';
  let keyId: string | undefined;
  let fingerprint: string | undefined;
  let primaryFingerprint: string | undefined;
  let trust: GpgTrust = 'unknown';
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(PREFIX)) continue;
    const [kw = '', ...args] = line.slice(PREFIX.length).trimEnd().split(' ');
    const sig = SIG_KEYWORDS[kw];
    if (sig !== undefined) {
      // Only the first verdict counts; a second signature is counted by NEWSIG and refused.
      if (status === 'missing') {
        status = sig === 'error' && args[5] === ERRSIG_NO_PUBKEY ? 'unknown-key' : sig;
        keyId = args[0]?.toUpperCase();
      }
      continue;
    }
    const trustLevel = TRUST[kw];
    if (trustLevel !== undefined) { if (trust === 'unknown') trust = trustLevel; continue; }
    switch (kw) {
      case 'NEWSIG': count++; break;
      case 'VALIDSIG': {
        const fpr = args[0]?.toUpperCase();
        const primary = args[9]?.toUpperCase() ?? fpr;
        if (fingerprint === undefined && fpr && FPR.test(fpr) && primary && FPR.test(primary)) {
          fingerprint = fpr;
          primaryFingerprint = primary;
        }
        break;
      }
      case 'DECRYPTION_OKAY': decrypted = true; break;
      case 'DECRYPTION_FAILED': decrypted = false; errors.push(kw); break;
      case 'DECRYPTION_KEY': decryptionKey ??= args[0]?.toUpperCase(); break;
      case 'ENC_TO': if (args[0]) encTo.push(args[0].toUpperCase()); break;
      case 'NO_SECKEY': noSeckeys++; break;
      case 'NEED_PASSPHRASE_SYM': symmetric = true; break;
      case 'BAD_PASSPHRASE': case 'MISSING_PASSPHRASE': badPassphrase = true; break;
      case 'ERROR':
        if (args[0] === 'pkdecrypt_failed' && PASSPHRASE_ERRORS.has(Number(args[1]) & 0xffff)) badPassphrase = true;
        errors.push([kw, ...args].join(' '));
        break;
      case 'FAILURE': case 'NODATA': errors.push([kw, ...args].join(' ')); break;
      default: break;
    }
  }
  // A good verdict without VALIDSIG names no key to match: treat it as unchecked.
  if (status === 'good' && fingerprint === undefined) status = 'error';
  if (count === 0 && status !== 'missing') count = 1;
  return {
    decrypted, decryptionKey, encTo, noSecretKey: encTo.length > 0 && noSeckeys >= encTo.length, symmetric, badPassphrase,
    signature: {
      status, count, trust,
      ...(keyId !== undefined ? { keyId } : {}),
      ...(fingerprint !== undefined ? { fingerprint, primaryFingerprint: primaryFingerprint! } : {}),
    },
    errors,
  };
}
