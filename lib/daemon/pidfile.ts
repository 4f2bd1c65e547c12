// The pid file of `knockd -d`: `<pid>\n`, removed at a clean exit.

import { unlinkSync, writeFileSync } from 'node:fs';

export function writePidFile(path: string): string | undefined {
  try {
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
    return undefined;
  } catch (err) {
    return `could not create pid file ${path}: ${(err as Error).message}`;
  }
}

export function removePidFile(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}
