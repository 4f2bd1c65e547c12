// knockd's port sequence grammar: `port[:proto],port[:proto],...`, parsed field by field with
// C atoi() so `8000 # comment` is 8000 and `-1` is 65535, exactly as knockd reads it.

import { atoi, toUint16 } from './atoi.js';
import { trimC, upperC } from './lines.js';
import { msg } from './errors.js';
import { failure, type Result } from '../errors/result.js';
import { DEFAULTS, type KnockStep } from './types.js';

export type SequenceResult = Result<{ steps: KnockStep[] }>;

export function parseSequence(door: string, text: string): SequenceResult {
  const steps: KnockStep[] = [];
  // Empty fields are kept: a trailing comma adds port 0, as in knockd.
  for (const field of text.split(',')) {
    if (steps.length >= DEFAULTS.maxSequence) return failure(msg.tooManyPorts(door));
    const parts = field.split(':');
    const portText = parts[0] ?? '';
    const port = atoi(portText).value;
    if (port > 65535) return failure(msg.badPort(door, portText));
    let protocol: KnockStep['protocol'] = 'tcp';
    if (parts.length > 1) {
      // Text after a second ':' is ignored, as knockd does.
      const proto = upperC(trimC(parts[1] ?? ''));
      if (proto === 'UDP') protocol = 'udp';
      else if (proto !== 'TCP') return failure(msg.badProtocol(door));
    }
    steps.push({ port: toUint16(port), protocol });
  }
  return { ok: true, steps };
}

export function formatSequence(steps: readonly KnockStep[]): string {
  return steps.map((s) => `${s.port}:${s.protocol}`).join(',');
}
