// What an SPA message asks for, judged against its door once it is decrypted and authenticated
// (Rijndael by the gate, GnuPG after gpg): message type, age, command allow-list, source, ports, NAT.

import type { Door } from '../config/types.js';
import type { SpaFields } from '../spa/message.js';
import { kindOf } from '../spa/message-types.js';
import { parseAccessMessage, parseCommandMessage } from '../spa/access.js';
import { allowedArgv } from '../spa/command-allow.js';
import { printable } from '../spa/printable.js';
import { formatProtoPort } from '../net/protocol.js';
import { isNatType, natDecision } from './spa-nat.js';
import type { Client, SpaCommand, SpaGrant, SpaPacket, SpaRefusal } from './spa-verdicts.js';

const FIELD_TEXT: Readonly<Record<string, string>> = {
  decrypt: 'decryption failed',
  digest: 'bad message digest',
};

/** The refusal for a message that did not decrypt or decode (lib/spa/message.ts FieldError). */
export const fieldRefusal = (error: string): string => FIELD_TEXT[error] ?? `bad field (${error})`;

export function judgeFields(
  p: SpaPacket, client: Client, door: Door, doorIndex: number, f: SpaFields, nowMs: number,
): Omit<SpaGrant, 'digest'> | Omit<SpaCommand, 'digest'> | SpaRefusal {
  const spa = door.spa!;
  const refuse = (reason: string): SpaRefusal => ({ type: 'refused', src: p.src, door, reason });
  if (kindOf(f.messageType)?.command && !spa.commands) return refuse('command messages are not allowed');
  if (isNatType(f.messageType) && !spa.nat) return refuse('NAT access is not enabled for this door');

  const off = Math.round(nowMs / 1000) - f.timestamp;
  if (Math.abs(off) > spa.maxAge) return refuse(`stale packet (${Math.abs(off)} seconds ${off > 0 ? 'old' : 'in the future'})`);
  if (kindOf(f.messageType)?.command) {
    const cmd = parseCommandMessage(f.message);
    if (!cmd) return refuse('bad field (message)'); // decodePlaintext checked it already
    const allowed = allowedArgv(cmd.command, spa.commands!.allowed);
    if (!allowed) return refuse(`command not allowed: "${printable(cmd.command)}"`);
    return { type: 'command', src: p.src, door, doorIndex, argv: allowed.argv, line: allowed.line, fields: f };
  }

  const access = parseAccessMessage(f.message);
  if (!access) return refuse('bad field (message)'); // decodePlaintext checked it already
  let ip = access.allowIp;
  let family: 4 | 6 = 4;
  if (ip === '0.0.0.0') {
    if (spa.requireSource) return refuse('0.0.0.0 requested but SPA_Require_Source_Address is set');
    ip = client.ip;
    family = client.family;
  }
  // A NAT request names the bastion port it will connect to: SPA_Open_Ports is for access requests.
  const denied = isNatType(f.messageType) ? [] : access.ports.filter((q) =>
    !spa.openPorts.some((o) => o.protocol === q.protocol && o.port === q.port));
  if (denied.length) return refuse(`port not allowed (${denied.map((d) => formatProtoPort(d)).join(',')})`);

  const timeout = f.clientTimeout > 0 ? Math.min(f.clientTimeout, spa.maxTimeout) : door.cmdTimeout;
  const decided = natDecision(spa, f.messageType, f.natAccess, access.ports, p.dst);
  if (decided && 'refusal' in decided) return refuse(decided.refusal);
  if (decided) {
    if (family !== 4) return refuse('NAT access needs an IPv4 address to allow');
    return {
      type: 'granted', src: p.src, door, doorIndex, ip, family, ports: [decided.nat.external], timeout, fields: f, nat: decided.nat,
    };
  }
  const ports = access.ports
    .filter((s, i, all) => all.findIndex((o) => o.protocol === s.protocol && o.port === s.port) === i);
  return { type: 'granted', src: p.src, door, doorIndex, ip, family, ports, timeout, fields: f };
}
