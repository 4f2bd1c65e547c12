// The fleet's Redis password: one line in a file only its owner can read (Fleet_Password_File;
// group- or world-readable is refused, naming the mode). Never in the config, never logged.

import { failure, type Result } from '../errors/result.js';
import { readSecretFile } from '../fs/trusted-read.js';

export function readFleetPassword(path: string | undefined): Result<{ password: string | undefined }> {
  if (!path) return { ok: true, password: undefined };
  const r = readSecretFile(path);
  if ('missing' in r) return failure(`Fleet_Password_File ${path}: no such file`);
  if ('problem' in r) return failure(`Fleet_Password_File ${r.problem}`);
  const password = r.text.replace(/\r?\n$/, '');
  if (password === '' || password.includes('\n')) return failure(`Fleet_Password_File ${path}: must hold one line, the password`);
  return { ok: true, password };
}
