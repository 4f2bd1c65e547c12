// Named profiles: `knock @home` knocks a saved host and sequence. The file is a small INI file
// (read with `ini`), `$XDG_CONFIG_HOME/sesame/knock.ini` or `~/.config/sesame/knock.ini`:
//
//   [home]
//   host = gate.example.org
//   ports = 7000,8000,9000:udp
//   delay = 100          ; optional, milliseconds
//   udp = false          ; optional, all hits UDP
//   family = 6           ; optional, 4 or 6
//   source = 192.0.2.7   ; optional (or interface = wg0)
//
// A TOTP door (knock --totp): `totp = PATH` (the base32 secret file; `~/` is the home directory,
// a relative path is taken from knock.ini's directory), `port_base = N`, `digits = 8` (optional,
// default 6). Its code ports follow `ports`, which such a profile may leave out.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ERROR_CODES, SesameError } from '../errors/errors.js';
import ini from 'ini';

export interface Profile {
  readonly host: string;
  readonly ports: readonly string[];
  readonly delay?: number;
  readonly udp?: boolean;
  readonly family?: 4 | 6;
  readonly source?: string;
  readonly iface?: string;
  /** totp, resolved to a path; digits and port_base as typed (knock-main checks them with the command line's). */
  readonly totp?: string;
  readonly digits?: string;
  readonly portBase?: string;
}

export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'sesame', 'knock.ini');
}

const bool = (v: unknown) => v === true || v === 'true' || v === 'yes' || v === '1';

/** A profile that cannot be used; the message names the file. */
export class ProfileError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.profile);
    this.name = 'ProfileError';
  }
}

/** Reads profile `name`; throws a ProfileError naming the file when it cannot. */
export function loadProfile(name: string, path = profilesPath()): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProfileError(`knock: cannot read profiles from ${path}: ${(err as Error).message}`);
  }
  const all = ini.parse(text) as Record<string, Record<string, unknown>>;
  const p = Object.hasOwn(all, name) ? all[name] : undefined;
  if (!p || typeof p !== 'object') throw new ProfileError(`knock: no profile [${name}] in ${path}`);
  const host = typeof p['host'] === 'string' ? p['host'].trim() : '';
  const ports = String(p['ports'] ?? '').split(/[\s,]+/).filter(Boolean);
  const totp = profileTotp(name, path, p);
  if (!host || (ports.length === 0 && !totp.totp)) {
    throw new ProfileError(`knock: profile [${name}] in ${path} needs host and ports`);
  }
  const delay = p['delay'] === undefined ? undefined : Number(p['delay']);
  if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0)) {
    throw new ProfileError(`knock: profile [${name}]: bad delay "${String(p['delay'])}"`);
  }
  const fam = p['family'] === undefined ? undefined : Number(p['family']);
  if (fam !== undefined && fam !== 4 && fam !== 6) throw new ProfileError(`knock: profile [${name}]: family must be 4 or 6`);
  return {
    host, ports,
    ...(delay !== undefined ? { delay } : {}),
    ...(p['udp'] !== undefined ? { udp: bool(p['udp']) } : {}),
    ...(fam !== undefined ? { family: fam } : {}),
    ...(typeof p['source'] === 'string' ? { source: p['source'] } : {}),
    ...(typeof p['interface'] === 'string' ? { iface: p['interface'] } : {}),
    ...totp,
  };
}

/** A profile's totp, digits and port_base; digits and port_base without totp are refused. */
function profileTotp(name: string, path: string, p: Record<string, unknown>): Pick<Profile, 'totp' | 'digits' | 'portBase'> {
  const text = (key: string) => (p[key] === undefined ? undefined : String(p[key]).trim());
  const file = text('totp');
  const digits = text('digits');
  const portBase = text('port_base');
  if (file === undefined || file === '') {
    if (digits !== undefined || portBase !== undefined) throw new ProfileError(`knock: profile [${name}]: digits and port_base need totp`);
    return {};
  }
  const home = process.env['HOME'] || homedir();
  const totp = file.startsWith('~/') ? join(home, file.slice(2)) : resolve(dirname(path), file);
  return { totp, ...(digits !== undefined ? { digits } : {}), ...(portBase !== undefined ? { portBase } : {}) };
}
