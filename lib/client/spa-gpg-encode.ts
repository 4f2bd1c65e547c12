// The wire text of a GnuPG-mode request: the SPA plaintext (fields ":" digest, as for Rijndael),
// encrypted and signed by gpg, framed as fwknop does (lib/spa/gpg-framing.ts), with the HMAC
// when a key is given. Refused when fwknopd could not take it: over 1500 characters (an RSA-4096
// key on both ends, fwknop#211); under 400 fwknopd reads it as Rijndael, so that only warns.

import { gpgEncrypt } from '../gpg/encrypt.js';
import { encodePlaintext } from '../spa/message.js';
import { accessFields } from '../spa/wire.js';
import { encodeGpgWire, GPG_MIN_WIRE, GPG_WIRE_MAX } from '../spa/gpg-framing.js';
import { messageInput, SpaInputError, type SpaRequest } from './spa-request.js';

export async function encodeGpgRequest(r: SpaRequest, serverAddress: string = r.host,
  warn: (w: string) => void = () => {}): Promise<string> {
  const g = r.gpg;
  if (!g) throw new Error('not a GnuPG request');
  const plaintext = encodePlaintext(accessFields(messageInput(r, serverAddress)), r.digest);
  const message = await gpgEncrypt(Buffer.from(plaintext, 'latin1'), {
    recipient: g.recipient, useAgent: g.useAgent,
    ...(g.signer !== undefined ? { signer: g.signer } : {}),
    ...(g.homeDir !== undefined ? { homeDir: g.homeDir } : {}),
    ...(g.passphrase !== undefined ? { passphrase: g.passphrase } : {}),
    ...(g.gpgPath !== undefined ? { gpgPath: g.gpgPath } : {}),
  });
  const wire = encodeGpgWire(message, r.keys.hmacKey ? { key: r.keys.hmacKey, digest: r.keys.hmacDigest } : undefined);
  if (wire.length > GPG_WIRE_MAX) {
    throw new SpaInputError(`the GnuPG SPA packet would be ${wire.length} characters; fwknopd takes at most ${GPG_WIRE_MAX}: ` +
      'use a smaller key (RSA 2048, or ed25519/cv25519; RSA 4096 on both ends never fits), or a shorter HMAC digest');
  }
  if (wire.length < GPG_MIN_WIRE) {
    warn(`the GnuPG SPA packet is ${wire.length} characters: fwknopd reads packets under ${GPG_MIN_WIRE} as Rijndael ` +
      'and cannot open it (sign it, or add an HMAC, to make it longer)');
  }
  return wire;
}
