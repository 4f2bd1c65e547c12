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

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
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
  if (!host || ports.length === 0) throw new ProfileError(`knock: profile [${name}] in ${path} needs host and ports`);
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
  };
}
