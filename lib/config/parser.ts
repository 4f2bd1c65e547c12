// knockd.conf parser: knockd 0.8's grammar, line for line (docs/knockd-0.8.md §1). Comments only where
// '#' starts a line; values keep ';', '#', quotes and '='; keys are case-insensitive, `[options]`
// is not. The result is a deeply frozen Config; the first error throws a ConfigError.

import { accessSync, constants as fsc, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, msg, strerror } from './errors.js';
import { DOOR_KEY_INDEX, OPTION_KEY_INDEX, type DoorDraft, type KeyContext, type OptionsDraft } from './keys.js';
import { logicalLines, trimC, upperC } from './lines.js';
import { DEFAULTS, MAX_GRANT_SECONDS, deepFreeze, type Config, type Door } from './types.js';
import { nextOneTimeSequence } from './onetime-scan.js';
import { finishSpa } from './spa-keys.js';
import { finishSpaTransport } from './spa-transport-keys.js';
import { finishEvents } from './observe-keys.js';
import { finishFleet } from './fleet-keys.js';
import { checkTotpRanges, finishBans, finishTotp } from './totp-keys.js';
import { MAX_CONFIG_BYTES, readBoundedFile } from '../fs/bounded-read.js';
import { MAX_SECRET_FILE_BYTES } from '../totp/secret.js';

/** The file access the parser needs, so tests and the daemon can supply their own. */
export interface ConfigIO {
  readFile(path: string): Buffer;
  /** Throws (with an errno code) unless `path` can be rewritten in place by temp file + rename. */
  checkRewritable(path: string): void;
  /** Throws unless `path` is owned by root (or this user) and writable by no one else. */
  checkPrivate?(path: string): void;
  /** Throws unless `path` is also unreadable by others than its owner (a secret); --provision --new-secret supplies its own. */
  readSecret?(path: string): Buffer;
  /** Throws unless `path` is a program only root (or this user) can change: Event_Command, run as root. */
  checkProgram?(path: string): void;
}

export const nodeIO: ConfigIO = {
  // Never blocks on a FIFO, never reads more than a config can sensibly be.
  readFile: (path) => readBoundedFile(path, MAX_CONFIG_BYTES),
  checkRewritable(path) {
    accessSync(path, fsc.R_OK | fsc.W_OK);
    accessSync(dirname(path), fsc.W_OK | fsc.X_OK);
  },
  checkPrivate(path) { ownedPrivately(path); },
  checkProgram(path) {
    const mode = ownedPrivately(path);
    if ((mode & fsc.S_IFMT) !== fsc.S_IFREG) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    if ((mode & 0o111) === 0) throw Object.assign(new Error('not executable (chmod 755)'), { code: 'EACCES' });
    // Whoever can write its directory can put another program in its place (unless the directory is sticky, as /tmp).
    const dir = statSync(dirname(path));
    const me = process.getuid?.() ?? 0;
    if ((dir.uid !== 0 && dir.uid !== me) || ((dir.mode & 0o022) && !(dir.mode & 0o1000))) {
      throw Object.assign(new Error(`its directory ${dirname(path)} can be written by others than root`), { code: 'EPERM' });
    }
  },
  readSecret(path) {
    const mode = ownedPrivately(path) & 0o777;
    if (mode & 0o077) {
      throw Object.assign(new Error(`mode ${mode.toString(8)}: readable by others than its owner (chmod 600)`), { code: 'EPERM' });
    }
    return readBoundedFile(path, MAX_SECRET_FILE_BYTES);
  },
};

/** Throws unless `path` is root's (or this user's) and writable by no one else; its mode otherwise. */
function ownedPrivately(path: string): number {
  const st = statSync(path);
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) throw Object.assign(new Error(`owned by uid ${st.uid}, not root`), { code: 'EPERM' });
  if (st.mode & 0o022) {
    throw Object.assign(new Error(`mode ${(st.mode & 0o777).toString(8)}: writable by others than its owner`), { code: 'EPERM' });
  }
  return st.mode;
}

const SECTION_NAME_MAX = 127; // knockd truncates door names to 127 bytes

function newDoor(name: string, line: number): DoorDraft {
  return {
    name, line, sequence: undefined,
    seqTimeout: DEFAULTS.seqTimeout, cmdTimeout: DEFAULTS.cmdTimeout,
    startCommand: undefined, startCommand6: undefined, stopCommand: undefined, stopCommand6: undefined,
    tcpFlags: { set: 0, clear: 0 }, target: undefined, oneTime: undefined, spa: undefined,
    open: undefined, openLine: undefined, sharedKnocks: undefined,
  };
}

function truncateBytes(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= max ? s : b.subarray(0, max).toString('utf8');
}

export function parseConfig(data: Buffer | string, file: string, io: ConfigIO = nodeIO): Config {
  const options: OptionsDraft = {
    useSyslog: false, logFile: undefined, pidFile: undefined, interfaces: undefined, matching: undefined, captureBuffer: undefined,
  };
  const doors: DoorDraft[] = [];
  const warnings: string[] = [];
  let section: 'none' | 'options' | 'door' = 'none';
  let door: DoorDraft | undefined;

  for (const { number, text } of logicalLines(data)) {
    if (text === '' || text.startsWith('#')) continue;

    if (text.startsWith('[') && text.endsWith(']') && text.length >= 2) {
      const name = text.slice(1, -1); // not trimmed: `[ a ]` is the door " a "
      if (name === '') throw new ConfigError(msg.badSection(number), file, number);
      if (name === 'options') { section = 'options'; door = undefined; continue; }
      section = 'door';
      door = newDoor(truncateBytes(name, SECTION_NAME_MAX), number);
      doors.push(door);
      continue;
    }

    if (section === 'none') throw new ConfigError(msg.outsideSection(number), file, number);

    const eq = text.indexOf('=');
    if (eq === -1) {
      // Only the bare word UseSyslog lives without '=', and knockd takes it in any section.
      if (upperC(text) === 'USESYSLOG') { options.useSyslog = true; continue; }
      throw new ConfigError(msg.syntax(number), file, number);
    }
    const key = upperC(trimC(text.slice(0, eq)));
    const value = trimC(text.slice(eq + 1));

    const ctx: KeyContext = {
      file, line: number, options, warnings,
      loadOneTime: (d, path) => loadOneTime(d, path, io, ctx),
      readPrivate: (path) => readPrivate(path, io, ctx),
      readSecret: (path) => readSecret(path, io, ctx),
      checkProgram: (path) => checkProgram(path, io, ctx),
    };
    if (section === 'options') {
      const spec = OPTION_KEY_INDEX.get(key);
      if (!spec) throw new ConfigError(msg.syntax(number), file, number);
      spec.apply(value, ctx);
    } else {
      const spec = DOOR_KEY_INDEX.get(key);
      if (!spec) throw new ConfigError(msg.syntax(number), file, number);
      spec.apply(door!, value, ctx);
    }
  }

  const finished = doors.map((d): Door => {
    const spa = finishSpa(d, file);
    const totp = finishTotp(d, file);
    // An SPA or TOTP door needs no sequence; any other door does, as in knockd.
    if (!spa && !totp && (!d.sequence || d.sequence.length === 0)) throw new ConfigError(msg.emptySequence(d.name), file, d.line);
    // nftables element timeouts of Open grants are capped at a week (lib/firewall/validate.ts).
    if (d.open && d.cmdTimeout > MAX_GRANT_SECONDS) {
      throw new ConfigError(`config: section ${d.name}: cmd_timeout ${d.cmdTimeout} is too long for Open grants ` +
        `(at most ${MAX_GRANT_SECONDS} seconds)`, file, d.openLine);
    }
    return { ...d, sequence: d.sequence ?? [], spa, totp, bans: finishBans(d, file) };
  });
  checkTotpRanges(finished, file);

  const fleet = finishFleet(options.fleet, file);
  const shared = finished.find((d) => d.sharedKnocks !== undefined);
  if (shared && !fleet) {
    throw new ConfigError(`config: line ${shared.sharedKnocks}: Fleet_Shared_Knocks needs Fleet_Redis in [options]`,
      file, shared.sharedKnocks);
  }
  const sharedOneTime = finished.find((d) => d.sharedKnocks !== undefined && d.oneTime);
  if (sharedOneTime) {
    throw new ConfigError(`config: line ${sharedOneTime.sharedKnocks}: Fleet_Shared_Knocks cannot be used with One_Time_Sequences ` +
      '(shared hits are matched against the configured Sequence)', file, sharedOneTime.sharedKnocks);
  }
  const spaTransport = finishSpaTransport(options.spaTransport, finished, file);
  const events = finishEvents(options.events, file);
  const { metricsListen } = options;
  return deepFreeze({ path: file, options: { ...options, fleet, spaTransport, events, metricsListen }, doors: finished, warnings });
}

function loadOneTime(door: DoorDraft, path: string, io: ConfigIO, ctx: KeyContext): void {
  let text: string;
  try {
    text = io.readFile(path).toString('utf8');
    io.checkRewritable(path);
  } catch (err) {
    throw new ConfigError(msg.sysError(path, strerror(err)), ctx.file, ctx.line);
  }
  const { entry, skipped } = nextOneTimeSequence(door.name, path, text);
  ctx.warnings.push(...skipped);
  if (!entry) throw new ConfigError(msg.noMoreSequences(door.name), ctx.file, ctx.line, skipped);
  door.sequence = [...entry.steps];
  door.oneTime = { path, line: entry.line };
}

/** A file that says what root may run (SPA_Command_Allow_File): read, and checked to be root's alone. */
function readPrivate(path: string, io: ConfigIO, ctx: KeyContext): string {
  try {
    io.checkPrivate?.(path);
    return io.readFile(path).toString('utf8');
  } catch (err) {
    throw new ConfigError(msg.sysError(path, err instanceof Error && !('errno' in err) ? err.message : strerror(err)), ctx.file, ctx.line);
  }
}

/** A secret file (TOTP_Secret_File): owner-only, read through the IO's own reader when it has one. */
function readSecret(path: string, io: ConfigIO, ctx: KeyContext): string {
  try {
    return (io.readSecret ?? ((p: string) => { io.checkPrivate?.(p); return io.readFile(p); }))(path).toString('utf8');
  } catch (err) {
    throw new ConfigError(msg.sysError(path, err instanceof Error && !('errno' in err) ? err.message : strerror(err)), ctx.file, ctx.line);
  }
}

/** A program the daemon runs as root (Event_Command): the IO's check, as a ConfigError naming this line. */
function checkProgram(path: string, io: ConfigIO, ctx: KeyContext): void {
  try {
    io.checkProgram?.(path);
  } catch (err) {
    throw new ConfigError(msg.sysError(path, err instanceof Error && !('errno' in err) ? err.message : strerror(err)), ctx.file, ctx.line);
  }
}

export function loadConfig(path: string, io: ConfigIO = nodeIO): Config {
  let data: Buffer;
  try {
    data = io.readFile(path);
  } catch (err) {
    throw new ConfigError(msg.sysError(path, strerror(err)), path);
  }
  return parseConfig(data, path, io);
}
