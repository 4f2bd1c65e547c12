// Everything secret a fleet member needs, read from its owner-only files: the keyring that seals
// notes and Redis's passwords. One place, so the daemon and `knockd --status` read them alike.

import type { FleetOptions } from '../config/types.js';
import { failure, type Result } from '../errors/result.js';
import { readFleetKeys } from './key-file.js';
import { readFleetPassword } from './password.js';
import type { Keyring } from './seal.js';

export interface FleetSecrets {
  readonly ring: Keyring;
  readonly password: string | undefined;
  readonly sentinelPassword: string | undefined;
  /** Remarks worth a log line (accepted keys whose time is over). */
  readonly warnings: readonly string[];
}

export function readFleetSecrets(f: FleetOptions, now = Date.now()): Result<FleetSecrets> {
  const keys = readFleetKeys(f.keyFile, now);
  if (!keys.ok) return keys;
  const pw = readFleetPassword(f.passwordFile);
  if (!pw.ok) return pw;
  const spw = readFleetPassword(f.sentinelPasswordFile, 'Fleet_Sentinel_Password_File');
  if (!spw.ok) return failure(spw.error);
  const warnings = keys.expired
    ? [`Fleet_Key_File ${f.keyFile}: ${keys.expired} accepted key${keys.expired === 1 ? '' : 's'} ` +
      `past ${keys.expired === 1 ? 'its' : 'their'} time, no longer accepted (remove the line)`]
    : [];
  return { ok: true, ring: keys.ring, password: pw.password, sentinelPassword: spw.password, warnings };
}
