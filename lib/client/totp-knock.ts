// knock --totp: the code of an authenticator app's secret, knocked as ports (docs/totp.md's
// encoding, lib/totp/ports.ts). Pure: the secret file's text and the wall clock come in as
// arguments, so every rule here is tested with fixed times; knock-main.ts reads the file and the clock.

import { failure, type Result } from '../errors/result.js';
import { codePorts, codeRangeProblem } from '../totp/ports.js';
import { parseSecretFile } from '../totp/secret.js';
import { totpCode, totpStep, type TotpDigits } from '../totp/totp.js';
import type { Hit } from './ports.js';

/** What `--totp`, `--digits` and `--port-base` (or a profile's totp, digits, port_base) say. */
export interface TotpSettings {
  /** The secret file, as given (named in messages). */
  readonly path: string;
  readonly digits: TotpDigits;
  readonly portBase: number;
}

/** A setting as typed, and the name it was typed under (`--digits`, `profile [home] digits`) for messages. */
export interface Typed {
  readonly value: string;
  readonly name: string;
}

/** The settings as typed (command line or profile); digits and port base undefined when not given. */
export interface TotpTyped {
  readonly path: string;
  readonly digits: Typed | undefined;
  readonly portBase: Typed | undefined;
}

/** Checks the typed settings: digits 6 or 8 (default 6), a port base whose code ports stay within 65535. */
export function checkTotp(t: TotpTyped): Result<{ settings: TotpSettings }> {
  const d = t.digits?.value.trim() ?? '6';
  if (d !== '6' && d !== '8') return failure(`knock: ${t.digits!.name} must be 6 or 8, not '${t.digits!.value}'`);
  const digits: TotpDigits = d === '6' ? 6 : 8;
  if (t.portBase === undefined) return failure("knock: --totp needs --port-base N (the door's TOTP_Port_Base)");
  const { value, name } = t.portBase;
  const portBase = /^[0-9]{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(portBase >= 1 && portBase <= 65535)) return failure(`knock: ${name} must be a port from 1 to 65535, not '${value}'`);
  const problem = codeRangeProblem(portBase, digits);
  if (problem) return failure(`knock: ${name} ${portBase}: ${problem}`);
  return { ok: true, settings: { path: t.path, digits, portBase } };
}

/** The secret of a secret file's text, or a message naming the file. */
export function totpSecret(path: string, text: string): Result<{ secret: Uint8Array }> {
  const r = parseSecretFile(text);
  return r.ok ? { ok: true, secret: r.secret } : failure(`knock: TOTP secret file ${path} ${r.error}`);
}

/** The code ports at wall-clock instant `wallMs` (epoch ms): udp with -u, else tcp. */
export function totpHits(secret: Uint8Array, s: TotpSettings, udp: boolean, wallMs: number): Hit[] {
  const code = totpCode(secret, totpStep(wallMs), s.digits);
  return codePorts(code, s.portBase, udp ? 'udp' : 'tcp').map((p) => ({ ...p, typed: String(p.port) }));
}

/** One line of knock's own port arguments (`40028 40170:udp`), to paste after the host of any knock client. */
export function portsLine(hits: readonly Hit[]): string {
  return hits.map((h) => (h.protocol === 'udp' ? `${h.port}:udp` : String(h.port))).join(' ');
}
