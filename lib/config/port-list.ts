// The `tcp/22, udp/1194` lists of Open, SPA_Open_Ports and SPA_Local_NAT, and single ports: one
// parser each, errors with the key's name and the line.

import { failAtLine } from './errors.js';
import type { KeyContext } from './drafts.js';
import type { KnockStep, Protocol } from './types.js';

/** One port number (SPA_Port, SPA_HTTP_Port, SPA_TCP_Port): plain decimal, 1..65535. */
export function parsePort(ctx: KeyContext, key: string, value: string, proto: 'TCP' | 'UDP'): number {
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) failAtLine(ctx, `${key} "${value}" is not a ${proto} port (1-65535)`);
  return n;
}

/** `tcp/22, udp/1194` → steps; the protocol must be tcp or udp and the port 1..65535. */
export function parseOpenPorts(ctx: KeyContext, key: string, value: string): KnockStep[] {
  const out: KnockStep[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim().toLowerCase();
    const m = /^(tcp|udp)\/([0-9]{1,5})$/.exec(item);
    if (!m) {
      const proto = item.split('/')[0];
      if (item.includes('/') && proto !== 'tcp' && proto !== 'udp') failAtLine(ctx, `${key}: unknown protocol "${proto}" (use tcp or udp)`);
      failAtLine(ctx, `${key}: "${raw.trim()}" is not protocol/port (e.g. tcp/22)`);
    }
    const port = Number(m[2]);
    if (port < 1 || port > 65535) failAtLine(ctx, `${key}: port ${port} is out of range (1-65535)`);
    const step: KnockStep = { protocol: m[1] as Protocol, port };
    if (!out.some((s) => s.protocol === step.protocol && s.port === step.port)) out.push(step);
  }
  return out;
}
