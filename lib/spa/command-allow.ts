// SPA command messages (type 0) run only what an allow file lists (SPA_Command_Allow_File), never
// through a shell. One command per line, as its argv separated by spaces or tabs; `#` starts a
// comment line. Each word must be matched exactly, except where it holds the placeholder `{arg}`
// (once a word, e.g. `/var/spool/jobs/{arg}`): there it matches a name of safe characters that
// starts with neither '-' nor '.' and holds no '/', so no option or other path can be slipped in.
// The first word is an absolute path. fwknop runs any command as root (#159); Sesame refuses all
// but these. Pure: the file's text in, templates out; a message's command in, an argv or nothing.

import { failure, type Result } from '../errors/result.js';

/** The argument placeholder, and what it matches: letters, digits and `_.:@=+,-`, first a letter, digit or '_'. */
export const ARG = '{arg}';
const ARG_TEXT = '[A-Za-z0-9_][A-Za-z0-9_.:@=+,-]{0,127}';
/** A word of the file: printable ASCII without quotes, backslashes or shell metacharacters. */
const WORD = /^[A-Za-z0-9._:/@=+,%-]{1,256}$/;
/** Most commands and words per command (the message's command is at most ~190 bytes anyway). */
const MAX_COMMANDS = 256;
const MAX_WORDS = 32;

export interface CommandTemplate {
  readonly words: readonly string[];
  /** Per word: undefined for an exact match, else what a word with a placeholder matches. */
  readonly patterns: readonly (RegExp | undefined)[];
  /** 1-based line in the allow file. */
  readonly line: number;
}

/** The allow file's commands, or the first bad line as `{ line, error }`. */
export function parseAllowList(text: string): Result<{ commands: CommandTemplate[] }, { line: number; error: string }> {
  const commands: CommandTemplate[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const t = lines[i]!.replace(/\r$/, '').trim();
    if (t === '' || t.startsWith('#')) continue;
    const words = t.split(/[ \t]+/);
    const twice = words.find((w) => w.split(ARG).length > 2);
    if (twice !== undefined) return failure({ line, error: `"${twice.slice(0, 40)}" holds ${ARG} more than once` });
    const bad = words.find((w) => !WORD.test(w.replace(ARG, 'x')));
    if (bad !== undefined) {
      return failure({ line, error: `"${bad.slice(0, 40)}" is not a plain word (no quotes, $, ;, |, &, <, >, *, spaces)` });
    }
    if (!words[0]!.startsWith('/')) return failure({ line, error: `"${words[0]}" is not an absolute path` });
    // The program is the allow file's choice, never the client's.
    if (words[0]!.includes(ARG)) return failure({ line, error: `${ARG} cannot be part of the program's path` });
    if (words.length > MAX_WORDS) return failure({ line, error: `more than ${MAX_WORDS} words` });
    commands.push({ words, patterns: words.map(pattern), line });
    if (commands.length > MAX_COMMANDS) return failure({ line, error: `more than ${MAX_COMMANDS} commands` });
  }
  return { ok: true, commands };
}

const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function pattern(word: string): RegExp | undefined {
  const at = word.indexOf(ARG);
  if (at === -1) return undefined;
  return new RegExp(`^${escape(word.slice(0, at))}${ARG_TEXT}${escape(word.slice(at + ARG.length))}$`);
}

/**
 * The argv to run for a message's `command` (split on spaces, as fwknopd splits it), or undefined
 * when no template matches it word for word.
 */
export function allowedArgv(command: string, templates: readonly CommandTemplate[]): { argv: string[]; line: number } | undefined {
  if (command.length === 0 || command.length > 1024 || !/^[\x20-\x7e]+$/.test(command)) return undefined;
  const argv = command.trim().split(/ +/);
  for (const t of templates) {
    if (t.words.length !== argv.length) continue;
    if (t.words.every((w, i) => (t.patterns[i] ? t.patterns[i].test(argv[i]!) : w === argv[i]))) return { argv, line: t.line };
  }
  return undefined;
}
