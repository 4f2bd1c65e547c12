// The knock client: knock 0.8's behaviour and messages, checked input before any packet leaves.

import { EXIT } from '../errors/exit.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import { parseKnockArgs, type KnockArgs } from './args.js';
import { failure, type Result } from '../errors/result.js';
import { KNOCK_USAGE, KNOCK_VERSION_TEXT } from './usage.js';
import { parseHit, type Hit } from './ports.js';
import { hit, type Endpoint } from './hit.js';
import { loadProfile, type Profile } from './profiles.js';
import { wantsSpa } from './spa-args.js';
import { spaMain } from './spa-main.js';
import { checkTotp, portsLine, totpHits, totpSecret, type TotpSettings, type Typed } from './totp-knock.js';
import { readBoundedFile } from '../fs/bounded-read.js';
import { strerror } from '../config/errors.js';
import { MAX_SECRET_FILE_BYTES } from '../totp/secret.js';

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
  readonly udp: boolean;
  /** --totp (or a profile's totp): the code ports follow `hits`, computed when they are sent. */
  /** `warning`: the secret file is readable by others. */
  readonly totp: { readonly settings: TotpSettings; readonly secret: Uint8Array; readonly warning?: string } | undefined;
  /** --totp-ports: print the ports, send nothing. */
  readonly printOnly: boolean;
}


/** The secret is as good as a password: say so when others may read it (knockd refuses such a file). */
function sharedWarning(path: string): string | undefined {
  try {
    const mode = statSync(path).mode & 0o777;
    return mode & 0o077 ? `knock: warning: ${path} is readable by others (mode ${mode.toString(8)}; chmod 600)` : undefined;
  } catch {
    return undefined; // read a moment ago: nothing to add
  }
}

/** --totp, --digits, --port-base over the profile's totp, digits, port_base; the secret read and checked. */
function totpPlan(a: KnockArgs, p: Profile | undefined, profileName: string | undefined): Result<{ totp: Plan['totp'] }> {
  const t = a.totp;
  const path = t.path ?? p?.totp;
  if (path === undefined) {
    if (t.printOnly) return failure('knock: --totp-ports needs --totp SECRET_FILE (or a profile with totp)');
    if (t.digits !== undefined || t.portBase !== undefined) return failure('knock: --digits and --port-base need --totp SECRET_FILE');
    return { ok: true, totp: undefined };
  }
  const typed = (cli: string | undefined, cliName: string, prof: string | undefined, key: string): Typed | undefined => {
    if (cli !== undefined) return { value: cli, name: cliName };
    return prof === undefined ? undefined : { value: prof, name: `profile [${profileName}] ${key}` };
  };
  const c = checkTotp({
    path,
    digits: typed(t.digits, '--digits', p?.digits, 'digits'),
    portBase: typed(t.portBase, '--port-base', p?.portBase, 'port_base'),
  });
  if (!c.ok) return c;
  let text: string;
  try {
    text = readBoundedFile(path, MAX_SECRET_FILE_BYTES).toString('utf8');
  } catch (e) {
    return failure(`knock: cannot read TOTP secret file ${path}: ${strerror(e)}`);
  }
  const s = totpSecret(path, text);
  if (!s.ok) return s;
  const warning = sharedWarning(path);
  return { ok: true, totp: { settings: c.settings, secret: s.secret, ...(warning ? { warning } : {}) } };
}

/** The command line with its profile applied (the command line wins); 'usage' without host or port. */
function plan(a: KnockArgs): Result<{ plan: Plan }> | 'usage' {
  let host = a.positional[0];
  let portArgs = a.positional.slice(1);
  let { udp, delay, family } = a;
  let { source, iface } = a;
  let profile: Profile | undefined;
  const profileName = host?.startsWith('@') ? host.slice(1) : undefined;
  if (profileName !== undefined) {
    let p: Profile;
    try { p = loadProfile(profileName); } catch (e) { return failure((e as Error).message); }
    profile = p;
    host = p.host;
    portArgs = [...p.ports, ...portArgs];
    if (!a.given.has('udp') && p.udp !== undefined) udp = p.udp;
    if (!a.given.has('delay') && p.delay !== undefined) delay = p.delay;
    if (!a.given.has('family') && p.family !== undefined) family = p.family;
    source ??= p.source;
    iface ??= p.iface;
  }
  const t = totpPlan(a, profile, profileName);
  if (!t.ok) return t;
  const printOnly = a.totp.printOnly;
  // A TOTP knock needs no static port; printing its ports needs no host.
  if ((!host && !printOnly) || (portArgs.length === 0 && !t.totp)) return 'usage';
  // Every port is checked before the first packet leaves.
  const hits: Hit[] = [];
  for (const typed of portArgs) {
    const h = parseHit(typed, udp);
    if (!h.ok) return h;
    hits.push(h.hit);
  }
  return { ok: true, plan: { host: host ?? '', hits, delay, family, source, iface, udp, totp: t.totp, printOnly } };
}

/** Where the packets go, and from where (-i/-s), as knock resolves it. */
async function endpoint(p: Plan): Promise<Result<{ to: Endpoint }>> {
  let to: Endpoint;
  try {
    const res = await lookup(p.host, { family: p.family });
    to = { address: res.address, family: res.family === 6 ? 6 : 4 };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const first = p.hits[0] ?? codeHits(p)[0]!;
    return failure(`Failed to resolve hostname '${p.host}' on port ${first.typed}\ngetaddrinfo: ${GAI_TEXT[code] ?? code}`);
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

/** The code ports of this moment (none without --totp). */
function codeHits(p: Plan): Hit[] {
  return p.totp ? totpHits(p.totp.secret, p.totp.settings, p.udp, Date.now()) : [];
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
  if (p.plan.totp?.warning) err.write(`${p.plan.totp.warning}\n`);
  if (p.plan.printOnly) { out.write(`${portsLine([...p.plan.hits, ...codeHits(p.plan)])}\n`); return EXIT.ok; }
  const e = await endpoint(p.plan);
  if (!e.ok) return refuse(e.error);
  const { delay } = p.plan;
  const send = async (hits: readonly Hit[]) => {
    for (const h of hits) {
      if (r.args.verbose) out.write(`hitting ${h.protocol} ${e.to.address}:${h.typed}\n`);
      try {
        await hit(e.to, h);
      } catch (x) {
        err.write(`knock: ${h.protocol} ${e.to.address}:${h.typed}: ${(x as Error).message}\n`);
      }
      if (delay > 0) await sleep(delay);
    }
  };
  await send(p.plan.hits);
  // The code of the moment the static ports are done, so it is as fresh as can be when the last knock lands.
  await send(codeHits(p.plan));
  return EXIT.ok;
}
