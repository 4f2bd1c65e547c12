// The knock client: knock 0.8's behaviour and messages, checked input before any packet leaves.

import { EXIT } from '../errors/exit.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseKnockArgs, type KnockArgs } from './args.js';
import { failure, type Result } from '../errors/result.js';
import { KNOCK_USAGE, KNOCK_VERSION_TEXT } from './usage.js';
import { parseHit, type Hit } from './ports.js';
import { hit, type Endpoint } from './hit.js';
import { loadProfile, type Profile } from './profiles.js';
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

/** What to knock: the host, its checked ports and the settings, after a `@profile` is applied. */
interface Plan {
  readonly host: string;
  readonly hits: readonly Hit[];
  readonly delay: number;
  readonly family: 0 | 4 | 6;
  readonly source: string | undefined;
  readonly iface: string | undefined;
}

/** The command line with its profile applied (the command line wins); 'usage' without host or port. */
function plan(a: KnockArgs): Result<{ plan: Plan }> | 'usage' {
  let host = a.positional[0];
  let portArgs = a.positional.slice(1);
  let { udp, delay, family } = a;
  let { source, iface } = a;
  if (host?.startsWith('@')) {
    let p: Profile;
    try { p = loadProfile(host.slice(1)); } catch (e) { return failure((e as Error).message); }
    host = p.host;
    portArgs = [...p.ports, ...portArgs];
    if (!a.given.has('udp') && p.udp !== undefined) udp = p.udp;
    if (!a.given.has('delay') && p.delay !== undefined) delay = p.delay;
    if (!a.given.has('family') && p.family !== undefined) family = p.family;
    source ??= p.source;
    iface ??= p.iface;
  }
  if (!host || portArgs.length === 0) return 'usage';
  // Every port is checked before the first packet leaves.
  const hits: Hit[] = [];
  for (const typed of portArgs) {
    const h = parseHit(typed, udp);
    if (!h.ok) return h;
    hits.push(h.hit);
  }
  return { ok: true, plan: { host, hits, delay, family, source, iface } };
}

/** Where the packets go, and from where (-i/-s), as knock resolves it. */
async function endpoint(p: Plan): Promise<Result<{ to: Endpoint }>> {
  let to: Endpoint;
  try {
    const res = await lookup(p.host, { family: p.family });
    to = { address: res.address, family: res.family === 6 ? 6 : 4 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return failure(`Failed to resolve hostname '${p.host}' on port ${p.hits[0]!.typed}\ngetaddrinfo: ${GAI_TEXT[code] ?? code}`);
  }
  let source = p.source;
  if (p.iface) {
    source = sourceOf(p.iface, to.family);
    if (!source) return failure(`knock: interface ${p.iface} has no IPv${to.family} address`);
  }
  if (source) {
    if (isIP(source.split('%')[0]!) !== to.family) return failure(`knock: source ${source} is not an IPv${to.family} address`);
    to = { ...to, source };
  }
  return { ok: true, to };
}

export async function knockMain(argv: readonly string[], out = process.stdout, err = process.stderr): Promise<number> {
  if (wantsSpa(argv)) return spaMain(argv, out, err, version());
  const r = parseKnockArgs(argv);
  if (r.kind === 'version') { out.write(KNOCK_VERSION_TEXT(version())); return EXIT.ok; }
  if (r.kind === 'usage') { out.write(KNOCK_USAGE); return EXIT.knockUsage; } // knock 0.8 exits 1, even for -h
  if (r.kind === 'bad') { err.write(`${r.message}\n`); if (r.message.startsWith('knock: ')) out.write(KNOCK_USAGE); return EXIT.failure; }
  const p = plan(r.args);
  if (p === 'usage') { out.write(KNOCK_USAGE); return EXIT.knockUsage; }
  const refuse = (message: string) => { err.write(`${message}\n`); return EXIT.failure; };
  if (!p.ok) return refuse(p.error);
  const e = await endpoint(p.plan);
  if (!e.ok) return refuse(e.error);
  const { hits, delay } = p.plan;
  for (const h of hits) {
    if (r.args.verbose) out.write(`hitting ${h.protocol} ${e.to.address}:${h.typed}\n`);
    try {
      await hit(e.to, h);
    } catch (x) {
      err.write(`knock: ${h.protocol} ${e.to.address}:${h.typed}: ${(x as Error).message}\n`);
    }
    if (delay > 0) await sleep(delay);
  }
  return EXIT.ok;
}
