// Yes/no values of Sesame's keys: the spellings fwknopd and knockd users write (Y, yes, on, 1 ...).

import { failAtLine } from './errors.js';
import type { KeyContext } from './drafts.js';

export function yesNo(ctx: KeyContext, key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['y', 'yes', 'true', 'on', '1'].includes(v)) return true;
  if (['n', 'no', 'false', 'off', '0'].includes(v)) return false;
  failAtLine(ctx, `${key} must be yes or no, not "${value}"`);
}
