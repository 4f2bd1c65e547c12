// [options] keys for SPA beside UDP (docs/spa.md "SPA over HTTP and TCP"):
//   SPA_HTTP_Port = PORT                  `GET /<spa>` requests to this TCP port are read as SPA
//                                        (sniffed: whatever web server answers them, as fwknopd's
//                                        ENABLE_SPA_OVER_HTTP)
//   SPA_HTTP_Any_User_Agent = yes|no      read them whatever their User-Agent (default: fwknop's only)
//   SPA_HTTP_Trusted_Proxies = CIDR, ...  whose X-Forwarded-For is believed
//   SPA_TCP_Port = PORT                   Sesame listens here: one SPA message per connection
// They apply to every SPA door, as fwknopd's options apply to every stanza.

import { ConfigError, failAtLine } from './errors.js';
import type { KeyContext, OptionKey, OptionsDraft } from './drafts.js';
import type { Door, SpaTransport } from './types.js';
import { parseNetwork, type Network } from './cidr.js';
import { yesNo } from './yes-no.js';
import { parsePort } from './port-list.js';

/** Most trusted proxy networks (each request walks them). */
const MAX_PROXIES = 64;

function draft(ctx: KeyContext): NonNullable<OptionsDraft['spaTransport']> {
  ctx.options.spaTransport ??= { firstLine: ctx.line };
  return ctx.options.spaTransport;
}

const tcpPort = (ctx: KeyContext, key: string, value: string): number => parsePort(ctx, key, value, 'TCP');

function networks(ctx: KeyContext, value: string): Network[] {
  const items = value.split(',').map((s) => s.trim());
  const list: Network[] = [];
  for (const item of items) {
    const net = parseNetwork(item);
    if (!net) failAtLine(ctx, `SPA_HTTP_Trusted_Proxies: "${item}" is not an address or network (10.0.0.0/8, fd00::/8)`);
    list.push(net);
  }
  if (list.length > MAX_PROXIES) failAtLine(ctx, `SPA_HTTP_Trusted_Proxies: more than ${MAX_PROXIES} networks`);
  return list;
}

export const SPA_TRANSPORT_OPTION_KEYS: readonly OptionKey[] = [
  { names: ['SPA_HTTP_PORT'], apply(value, ctx) { draft(ctx).httpPort = tcpPort(ctx, 'SPA_HTTP_Port', value); } },
  { names: ['SPA_TCP_PORT'], apply(value, ctx) { draft(ctx).tcpPort = tcpPort(ctx, 'SPA_TCP_Port', value); } },
  {
    names: ['SPA_HTTP_ANY_USER_AGENT'],
    apply(value, ctx) { draft(ctx).anyUserAgent = yesNo(ctx, 'SPA_HTTP_Any_User_Agent', value); },
  },
  {
    names: ['SPA_HTTP_TRUSTED_PROXIES'],
    apply(value, ctx) { draft(ctx).trustedProxies = { list: networks(ctx, value), line: ctx.line }; },
  },
];

export function finishSpaTransport(d: OptionsDraft['spaTransport'], doors: readonly Door[], file: string): SpaTransport | undefined {
  if (!d) return undefined;
  const fail = (line: number, text: string): never => { throw new ConfigError(`config: line ${line}: ${text}`, file, line); };
  if (d.httpPort === undefined && d.tcpPort === undefined) {
    fail(d.firstLine, 'SPA_HTTP_* keys need SPA_HTTP_Port or SPA_TCP_Port');
  }
  if (!doors.some((x) => x.spa)) fail(d.firstLine, 'SPA over HTTP or TCP needs a door with SPA keys');
  if (d.httpPort !== undefined && d.httpPort === d.tcpPort) {
    fail(d.firstLine, `SPA_HTTP_Port and SPA_TCP_Port are both ${d.httpPort}: Sesame listens on one and sniffs the other`);
  }
  return {
    httpPort: d.httpPort, tcpPort: d.tcpPort, anyUserAgent: d.anyUserAgent ?? false,
    trustedProxies: d.trustedProxies?.list ?? [], line: d.firstLine,
  };
}
