// `knockd --check` output: every option and door as Sesame understood it, defaults filled in,
// one `key: value` per line so people and tests can read it back.

import { formatSequence } from './sequence.js';
import { formatTcpFlags } from './tcpflags.js';
import { DEFAULTS, type Config, type Door } from './types.js';

const NONE = '(none)';

function show(v: string | undefined): string {
  return v === undefined ? NONE : `"${v}"`;
}

export function describeDoor(d: Door): string[] {
  const lines = [
    `door '${d.name}' (line ${d.line}):`,
    `  sequence: ${formatSequence(d.sequence)}`,
    `  seq_timeout: ${d.seqTimeout}`,
    `  tcpflags: ${formatTcpFlags(d.tcpFlags) || NONE}`,
    `  start_command: ${show(d.startCommand)}`,
    `  start_command_6: ${show(d.startCommand6)}`,
    `  cmd_timeout: ${d.cmdTimeout}`,
    `  stop_command: ${show(d.stopCommand)}`,
    `  stop_command_6: ${show(d.stopCommand6)}`,
    `  target: ${d.target ?? NONE}`,
  ];
  if (d.oneTime) lines.push(`  one_time_sequences: ${d.oneTime.path} (line ${d.oneTime.line})`);
  return lines;
}

export function describeConfig(c: Config): string {
  const o = c.options;
  const lines = [
    `config: ${c.path}: ok`,
    'options:',
    `  usesyslog: ${o.useSyslog ? 'yes' : 'no'}`,
    `  logfile: ${o.logFile ?? NONE}`,
    `  pidfile: ${o.pidFile ?? `${DEFAULTS.pidFile} (default)`}`,
    `  interface: ${o.interfaces ? o.interfaces.join(',') : `${DEFAULTS.interface} (default)`}`,
  ];
  for (const d of c.doors) lines.push(...describeDoor(d));
  return lines.join('\n') + '\n';
}
