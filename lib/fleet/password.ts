// Redis's passwords: one line in a file only its owner can read (Fleet_Password_File for the
// servers, Fleet_Sentinel_Password_File for the sentinels; group- or world-readable is refused,
// naming the mode). Never in the config, never logged.

import { failure, type Result } from '../errors/result.js';
import { readSecretFile } from '../fs/trusted-read.js';

export function readFleetPassword(path: string | undefined, key = 'Fleet_Password_File'): Result<{ password: string | undefined }> {
  if (!path) return { ok: true, password: undefined };
  const r = readSecretFile(path);
  if ('missing' in r) return failure(`${key} ${path}: no such file`);
  if ('problem' in r) return failure(`${key} ${r.problem}`);
  const password = r.text.replace(/\r?\n$/, '');
  if (password === '' || password.includes('\n')) return failure(`${key} ${path}: must hold one line, the password`);
  return { ok: true, password };
}
