// An SPA refusal's text (the log line's reason, lib/matcher) as the fixed category the metrics and
// webhooks carry: a label value must come from a short list, never from what a packet said.

import type { RefusalReason } from '../events/types.js';

// First match wins: replay before GnuPG ("GnuPG: replay ..." is not a case, but a replay is a replay).
const RULES: ReadonlyArray<readonly [RegExp, RefusalReason]> = [
  [/^replay detected/, 'replay'],
  [/not written \(disk full\?\)$/, 'disk'],
  [/^GnuPG: busy$/, 'busy'],
  [/^HMAC mismatch/, 'hmac'],
  [/^stale packet/, 'age'],
  [/^GnuPG: /, 'gpg'],
  [/^(bad HTTP|too many HTTP|HTTP |X-Forwarded-For|not an address: )/, 'http'],
  [/^(not an SPA packet|bad packet format|packet too long|too short|decryption failed|bad message digest|bad field)/, 'decode'],
];

/** The category of refusal `text`; what no rule names is the door's policy (ports, commands, NAT, source). */
export function refusalReason(text: string): RefusalReason {
  for (const [re, reason] of RULES) if (re.test(text)) return reason;
  return 'policy';
}
