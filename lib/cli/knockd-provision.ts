// knockd --provision DOOR [--new-secret]: a TOTP door's secret as an otpauth:// URI and its QR code
// in the terminal, for an authenticator app to scan; --new-secret first writes a fresh secret
// (0600, atomically) to the door's TOTP_Secret_File. Loaded by import() only (the daemon never holds qrcode).

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EXIT, exitStatusFor } from '../errors/exit.js';
import { loadConfig, nodeIO, type ConfigIO } from '../config/parser.js';
import { strerror } from '../config/errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { base32Encode } from '../totp/base32.js';
import { NEW_SECRET_BYTES } from '../totp/secret.js';
import { totpUri } from '../totp/uri.js';

type Out = Pick<NodeJS.WriteStream, 'write'>;

/** The issuer authenticator apps show above the code. */
export const PROVISION_ISSUER = 'Sesame';

/** With --new-secret the old file may be missing or bad: every secret reads as a placeholder so the config parses. */
const placeholderIO: ConfigIO = { ...nodeIO, readSecret: () => Buffer.from('A'.repeat(32)) };

export async function provision(configPath: string, doorName: string, newSecret: boolean, out: Out, err: Out): Promise<number> {
  const refuse = (text: string) => { err.write(`knockd: --provision: ${text}\n`); return EXIT.failure; };
  let config;
  try {
    config = loadConfig(configPath, newSecret ? placeholderIO : nodeIO);
  } catch (e) {
    const failed = exitStatusFor(e);
    if (!failed) throw e;
    err.write(`${failed.lines.join('\n')}\n`);
    return failed.status;
  }
  const door = config.doors.find((d) => d.name === doorName);
  if (!door) return refuse(`no door [${doorName}] in ${configPath}`);
  if (!door.totp) return refuse(`door [${doorName}] has no TOTP keys (TOTP_Secret_File, TOTP_Port_Base): nothing to provision`);
  let secret = door.totp.secret;
  if (newSecret) {
    secret = randomBytes(NEW_SECRET_BYTES);
    try {
      writeFileAtomic(door.totp.path, `${base32Encode(secret)}\n`, 0o600);
    } catch (e) {
      return refuse(`cannot write ${door.totp.path}: ${strerror(e)}`);
    }
    err.write(`knockd: wrote a new secret to ${door.totp.path} (mode 600); a running knockd uses it after a reload (SIGHUP)\n`);
  }
  const uri = totpUri({ label: `${door.name}@${hostname()}`, secret, issuer: PROVISION_ISSUER, digits: door.totp.digits });
  const { default: QRCode } = await import('qrcode');
  const qr = await QRCode.toString(uri, { type: 'terminal', small: true });
  out.write(`${uri}\n${qr}\n`);
  return EXIT.ok;
}
