// Whether a GnuPG door accepts what gpg said about a message's signature.
//
// fwknopd wants a good signature from a key valid at least "marginal" in the server's web of
// trust (gpgme's validity), then compares short IDs. Sesame: when the door lists its signers
// (SPA_GPG_Remote_ID) a good signature from a listed key is enough, whatever the trust database
// says: the list pins the keys, so nobody has to certify client keys with the server's key. With
// no list, fwknopd's rule stands: any key in the door's keyring that is at least marginally valid.
// Bad, expired-key, revoked-key and multiple signatures are refused even when none is required.

import { matchSigner, type GpgId } from './gpg-ids.js';

export type GpgSigStatus = 'good' | 'bad' | 'missing' | 'unknown-key' | 'expired-key' | 'revoked-key' | 'expired-sig' | 'error';
export type GpgTrust = 'unknown' | 'undefined' | 'never' | 'marginal' | 'fully' | 'ultimate';

/** What gpg's status lines said about the signatures of one message. */
export interface GpgSignature {
  readonly status: GpgSigStatus;
  /** How many signatures the message carried (NEWSIG lines). */
  readonly count: number;
  /** The signing (sub)key and its primary key (VALIDSIG), for a good signature. */
  readonly fingerprint?: string;
  readonly primaryFingerprint?: string;
  /** The 16-hex key ID gpg named (GOODSIG, BADSIG, ERRSIG, ...). */
  readonly keyId?: string;
  readonly trust: GpgTrust;
}

export interface GpgSigPolicy {
  /** SPA_GPG_Require_Sig (default yes). */
  readonly requireSig: boolean;
  /** SPA_GPG_Remote_ID; empty: any key of the keyring that is at least marginally valid. */
  readonly remoteIds: readonly GpgId[];
}

export type GpgSigRefusal =
  | 'missing-signature' | 'bad-signature' | 'unknown-key' | 'expired-key' | 'revoked-key' | 'expired-signature'
  | 'several-signatures' | 'signature-error' | 'unlisted-signer' | 'untrusted-signer';

export type GpgSigVerdict =
  | { readonly ok: true; readonly signer: GpgId | undefined }
  | { readonly ok: false; readonly reason: GpgSigRefusal };

const TRUSTED: ReadonlySet<GpgTrust> = new Set(['marginal', 'fully', 'ultimate']);

export function judgeSignature(sig: GpgSignature, policy: GpgSigPolicy): GpgSigVerdict {
  const no = (reason: GpgSigRefusal): GpgSigVerdict => ({ ok: false, reason });
  // Two signatures: gpg's answer is about one of them; which one the plaintext owes is unclear.
  if (sig.count > 1) return no('several-signatures');
  switch (sig.status) {
    case 'bad': return no('bad-signature');
    case 'expired-key': return no('expired-key');
    case 'revoked-key': return no('revoked-key');
    case 'expired-sig': return no('expired-signature');
    case 'missing': return policy.requireSig ? no('missing-signature') : { ok: true, signer: undefined };
    case 'unknown-key': return policy.requireSig ? no('unknown-key') : { ok: true, signer: undefined };
    case 'error': return policy.requireSig ? no('signature-error') : { ok: true, signer: undefined };
    case 'good': break;
  }
  if (!sig.fingerprint || !sig.primaryFingerprint) return policy.requireSig ? no('signature-error') : { ok: true, signer: undefined };
  if (policy.remoteIds.length > 0) {
    const id = matchSigner(policy.remoteIds, { fingerprint: sig.fingerprint, primaryFingerprint: sig.primaryFingerprint });
    if (id) return { ok: true, signer: id };
    return policy.requireSig ? no('unlisted-signer') : { ok: true, signer: undefined };
  }
  if (!policy.requireSig || TRUSTED.has(sig.trust)) return { ok: true, signer: undefined };
  return no('untrusted-signer');
}

/** What a refusal is logged as. */
export const SIG_REFUSAL_TEXT: Readonly<Record<GpgSigRefusal, string>> = {
  'missing-signature': 'the message is not signed',
  'bad-signature': 'bad signature (the message was altered)',
  'unknown-key': 'signed by a key not in the keyring',
  'expired-key': 'signed by an expired key',
  'revoked-key': 'signed by a revoked key',
  'expired-signature': 'the signature has expired',
  'several-signatures': 'more than one signature',
  'signature-error': 'the signature could not be checked',
  'unlisted-signer': 'signed by a key not in SPA_GPG_Remote_ID',
  'untrusted-signer': 'signed by a key that is not at least marginally valid (list it in SPA_GPG_Remote_ID)',
};
