// knockd --provision DOOR [--new-secret]: a TOTP door's secret as an otpauth:// URI and its QR code
// in the terminal, for an authenticator app to scan; --new-secret first writes a fresh secret
// (0600, atomically) to the door's TOTP_Secret_File. Loaded by import() only (the daemon never holds qrcode).

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EXIT, exitStatusFor } from '../errors/exit.js';
import { loadConfig, nodeIO, type ConfigIO } from '../config/parser.js';
import type { TotpDoor } from '../config/types.js';
import { strerror } from '../config/errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { base32Encode } from '../totp/base32.js';
import { MAX_SECRET_FILE_BYTES, NEW_SECRET_BYTES, parseSecretFile } from '../totp/secret.js';
import { readBoundedFile } from '../fs/bounded-read.js';
import { totpUri } from '../totp/uri.js';

type Out = Pick<NodeJS.WriteStream, 'write'>;

/** The issuer authenticator apps show above the code. */
export const PROVISION_ISSUER = 'Sesame';

const PLACEHOLDER = Buffer.from('A'.repeat(32));

/** Reads the secret files named in `strict` as the daemon does; any other reads as a placeholder. */
function secretsOnly(strict: readonly string[]): ConfigIO {
  return { ...nodeIO, readSecret: (path) => (strict.includes(path) ? nodeIO.readSecret!(path) : PLACEHOLDER) };
}

export async function provision(configPath: string, doorName: string, newSecret: boolean, out: Out, err: Out): Promise<number> {
  const refuse = (text: string) => { err.write(`knockd: --provision: ${text}\n`); return EXIT.failure; };
  const load = (io: ConfigIO) => {
    try {
      return loadConfig(configPath, io);
    } catch (e) {
      const failed = exitStatusFor(e);
      if (!failed) throw e;
      err.write(`${failed.lines.join('\n')}\n`);
      return failed.status;
    }
  };
  const totpOf = (io: ConfigIO): TotpDoor | number => {
    const config = load(io);
    if (typeof config === 'number') return config;
    const door = config.doors.find((d) => d.name === doorName);
    if (!door) return refuse(`no door [${doorName}] in ${configPath}`);
    return door.totp ?? refuse(`door [${doorName}] has no TOTP keys (TOTP_Secret_File, TOTP_Port_Base): nothing to provision`);
  };
  // Other doors' secret files are not this door's business (--check judges them), and with
  // --new-secret this door's may not exist yet: first every secret reads as a placeholder;
  // then, without --new-secret, this door's as the daemon reads it (owner-only, base32, long enough).
  let totp = totpOf(secretsOnly([]));
  if (typeof totp !== 'number' && !newSecret) totp = totpOf(secretsOnly([totp.path]));
  if (typeof totp === 'number') return totp;
  let secret = totp.secret;
  if (newSecret) {
    // Replaces a secret, never another file the config happens to name (a typo, /etc/passwd).
    const existing = readExisting(totp.path);
    if (existing !== undefined && !parseSecretFile(existing).ok) {
      return refuse(`${totp.path} exists and does not hold a TOTP secret; not overwriting it (remove it first)`);
    }
    secret = randomBytes(NEW_SECRET_BYTES);
    try {
      writeFileAtomic(totp.path, `${base32Encode(secret)}\n`, 0o600);
    } catch (e) {
      return refuse(`cannot write ${totp.path}: ${strerror(e)}`);
    }
    err.write(`knockd: wrote a new secret to ${totp.path} (mode 600); a running knockd uses it after a reload (SIGHUP)\n`);
  }
  const uri = totpUri({ label: `${doorName}@${hostname()}`, secret, issuer: PROVISION_ISSUER, digits: totp.digits });
  const { default: QRCode } = await import('qrcode');
  const qr = await QRCode.toString(uri, { type: 'terminal', small: true });
  out.write(`${uri}\n${qr}\n`);
  return EXIT.ok;
}

/** The file's text, or undefined when there is none (a link or an unreadable file reads as junk). */
function readExisting(path: string): string | undefined {
  try {
    return readBoundedFile(path, MAX_SECRET_FILE_BYTES).toString('utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : '';
  }
}
