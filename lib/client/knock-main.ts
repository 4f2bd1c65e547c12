// The knock client: knock 0.8's behaviour and messages, checked input before any packet leaves.

import { EXIT } from '../errors/exit.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseKnockArgs } from './args.js';
import { KNOCK_USAGE, KNOCK_VERSION_TEXT } from './usage.js';
import { parseHit, type Hit } from './ports.js';
import { hit, type Endpoint } from './hit.js';
import { loadProfile } from './profiles.js';
import { wantsSpa } from './spa-args.js';
import { spaMain } from './spa-main.js';

const GAI_TEXT: Record<string, string> = {
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  ENODATA: 'No address associated with hostname',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function sourceOf(iface: string, family: 4 | 6): string | undefined {
  const list = networkInterfaces()[iface] ?? [];
  const a = list.find((x) => (family === 6 ? x.family === 'IPv6' : x.family === 'IPv4'));
  return a ? (a.scopeid ? `${a.address}%${iface}` : a.address) : undefined;
}

export async function knockMain(argv: readonly string[], out = process.stdout, err = process.stderr): Promise<number> {
  if (wantsSpa(argv)) return spaMain(argv, out, err, version());
  const r = parseKnockArgs(argv);
  if (r.kind === 'version') { out.write(KNOCK_VERSION_TEXT(version())); return EXIT.ok; }
  if (r.kind === 'usage') { out.write(KNOCK_USAGE); return EXIT.knockUsage; } // knock 0.8 exits 1, even for -h
  if (r.kind === 'bad') { err.write(`${r.message}\n`); if (r.message.startsWith('knock: ')) out.write(KNOCK_USAGE); return EXIT.failure; }
  const a = r.args;

  let host = a.positional[0];
  let portArgs = a.positional.slice(1);
  let { udp, delay, family } = a;
  let source = a.source;
  let iface = a.iface;
  if (host?.startsWith('@')) {
    try {
      const p = loadProfile(host.slice(1));
      host = p.host;
      portArgs = [...p.ports, ...portArgs];
      if (!a.given.has('udp') && p.udp !== undefined) udp = p.udp;
      if (!a.given.has('delay') && p.delay !== undefined) delay = p.delay;
      if (!a.given.has('family') && p.family !== undefined) family = p.family;
      source ??= p.source;
      iface ??= p.iface;
    } catch (e) {
      err.write(`${(e as Error).message}\n`);
      return EXIT.failure;
    }
  }
  if (!host || portArgs.length === 0) { out.write(KNOCK_USAGE); return EXIT.knockUsage; }

  // Every port is checked before the first packet leaves.
  const hits: Hit[] = [];
  for (const p of portArgs) {
    const h = parseHit(p, udp);
    if (!h.ok) { err.write(`${h.message}\n`); return EXIT.failure; }
    hits.push(h.hit);
  }

  let to: Endpoint;
  try {
    const res = await lookup(host, { family });
    to = { address: res.address, family: res.family === 6 ? 6 : 4 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    err.write(`Failed to resolve hostname '${host}' on port ${hits[0]!.typed}\ngetaddrinfo: ${GAI_TEXT[code] ?? code}\n`);
    return EXIT.failure;
  }
  if (iface) {
    const s = sourceOf(iface, to.family);
    if (!s) { err.write(`knock: interface ${iface} has no IPv${to.family} address\n`); return EXIT.failure; }
    source = s;
  }
  if (source) {
    const fam = isIP(source.split('%')[0]!);
    if (fam !== to.family) { err.write(`knock: source ${source} is not an IPv${to.family} address\n`); return EXIT.failure; }
    to = { ...to, source };
  }

  for (const h of hits) {
    if (a.verbose) out.write(`hitting ${h.protocol} ${to.address}:${h.typed}\n`);
    try {
      await hit(to, h);
    } catch (e) {
      err.write(`knock: ${h.protocol} ${to.address}:${h.typed}: ${(e as Error).message}\n`);
    }
    if (delay > 0) await sleep(delay);
  }
  return EXIT.ok;
}
