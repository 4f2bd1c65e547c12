// `knock --spa`: one fwknop-compatible SPA packet (Rijndael + HMAC, or GnuPG: spa-gpg*.ts) in one UDP datagram, and
// `knock --spa-keygen`. Every input is checked and the packet built before the host is resolved.

import { EXIT } from '../errors/exit.js';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseSpaArgs, type SpaCli } from './spa-args.js';
import { defaultRcPath, loadStanzas, rcSettings, RcError, type Raw } from './fwknoprc.js';
import { buildRequest, encodeRequest, parseDigest, SpaInputError, type SpaRequest, type SpaSettings } from './spa-request.js';
import { encodeGpgRequest } from './spa-gpg-encode.js';
import { GpgError } from '../gpg/encrypt.js';
import { SPA_USAGE } from './usage.js';
import { generateKeyPair } from '../spa/keygen.js';
import type { DigestName } from '../spa/digests.js';
import { formatProtoPort } from '../net/protocol.js';

type Out = Pick<NodeJS.WriteStream, 'write'>;

/** knock --spa-keygen's output: the same key pair for a knockd.conf door and for an fwknoprc stanza. */
export function keygenText(digest: DigestName, key: Buffer, hmacKey: Buffer): string {
  const k = key.toString('base64');
  const h = hmacKey.toString('base64');
  return `# Sesame knockd.conf, in the door's section (add SPA_Open_Ports, e.g. tcp/22):
SPA_Key_Base64 = ${k}
SPA_HMAC_Key_Base64 = ${h}
SPA_HMAC_Digest = ${digest}

# ~/.fwknoprc (knock --spa --fwknoprc -n NAME, or fwknop -n NAME), in the server's stanza:
KEY_BASE64          ${k}
HMAC_KEY_BASE64     ${h}
USE_HMAC            Y
HMAC_DIGEST_TYPE    ${digest}
`;
}

function describe(r: SpaRequest, to: string, wire: string, now: number): string {
  const offset = r.timestamp - Math.floor(now);
  return [
    `SPA request: user ${r.username}, allow ${r.allowIp === '0.0.0.0' ? '0.0.0.0 (the packet\'s source)' : r.allowIp}, ` +
      `access ${r.ports.map((p) => formatProtoPort(p)).join(',')}` +
      `${r.nat ? `, NAT to ${r.nat.kind === 'local' ? `the server's port ${r.nat.port}` : r.nat.access.replace(',', ':')}` : ''}` +
      `${r.clientTimeout ? `, timeout ${r.clientTimeout} s` : ''}, timestamp ${r.timestamp}` +
      `${offset ? ` (${offset > 0 ? '+' : ''}${offset} s)` : ''}`,
    r.gpg
      ? `digest ${r.digest}, GnuPG to ${r.gpg.recipient}${r.gpg.signer !== undefined ? `, signed by ${r.gpg.signer}` : ', unsigned'}, ` +
        `${r.keys.hmacKey ? `HMAC ${r.keys.hmacDigest}` : 'no HMAC'}`
      : `digest ${r.digest}, HMAC ${r.keys.hmacDigest}, ${r.keys.mode}`,
    `sending ${wire.length} bytes to ${to} udp/${r.port}`,
    `SPA data: ${wire}`,
  ].join('\n') + '\n';
}

function sourceOf(iface: string, family: 4 | 6): string | undefined {
  const list = networkInterfaces()[iface] ?? [];
  const a = list.find((x) => (family === 6 ? x.family === 'IPv6' : x.family === 'IPv4'));
  return a ? (a.scopeid ? `${a.address}%${iface}` : a.address) : undefined;
}

function send(wire: string, address: string, family: 4 | 6, port: number, bind: { address?: string; port?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (err?: Error | null) => { try { s.close(); } catch { /* closed */ } if (err) reject(err); else resolve(); };
    s.once('error', done);
    const go = () => s.send(Buffer.from(wire, 'latin1'), port, address, done);
    if (bind.address !== undefined || bind.port !== undefined) {
      s.bind({ port: bind.port ?? 0, ...(bind.address ? { address: bind.address } : {}) }, go);
    } else go();
  });
}

function settingsFor(a: SpaCli, err: Out): { settings: SpaSettings; refused: Raw[] } {
  if (a.rcFile === undefined) return { settings: a.settings, refused: [] };
  const path = a.rcFile === '' ? defaultRcPath() : a.rcFile;
  const read = loadStanzas(path, a.stanza);
  for (const w of read.warnings) err.write(`knock: warning: ${w}\n`);
  const rc = rcSettings(read, path);
  if (a.verbose) for (const n of rc.notes) err.write(`knock: ${n}\n`);
  const settings: SpaSettings = { ...rc.values };
  // The command line wins setting by setting; a key given there replaces either rc spelling.
  const cli = a.settings;
  if (cli.key || cli.keyBase64) { delete settings.key; delete settings.keyBase64; }
  if (cli.hmacKey || cli.hmacKeyBase64) { delete settings.hmacKey; delete settings.hmacKeyBase64; }
  if (cli.timeOffsetPlus || cli.timeOffsetMinus) delete settings.timeOffset;
  Object.assign(settings, cli);
  return { settings, refused: [...rc.refused] };
}

export async function spaMain(argv: readonly string[], out: Out, err: Out, version: string): Promise<number> {
  const r = parseSpaArgs(argv);
  if (r.kind === 'usage') { out.write(SPA_USAGE); return EXIT.ok; }
  if (r.kind === 'version') { out.write(`knock 0.8 compatible (Sesame ${version})\n`); return EXIT.ok; }
  if (r.kind === 'bad') { err.write(`${r.message}\n(knock --spa --help shows the SPA options)\n`); return EXIT.failure; }
  try {
    if (r.kind === 'keygen') {
      const digest = r.hmacDigest ? parseDigest(r.hmacDigest) : 'sha256';
      const pair = generateKeyPair(digest);
      out.write(keygenText(digest, pair.key, pair.hmacKey));
      return EXIT.ok;
    }
    const a = r.args;
    const { settings, refused } = settingsFor(a, err);
    const now = Date.now() / 1000;
    const req = buildRequest(settings, { env: process.env, now }, refused);
    for (const w of req.warnings) err.write(`knock: warning: ${w}\n`);
    const literal = isIP(req.host);
    // Local NAT names the server's address: a host name is resolved before the packet is built.
    const warn = (w: string) => { err.write(`knock: warning: ${w}\n`); };
    const encode = (address?: string) => (req.gpg ? encodeGpgRequest(req, address, warn) : Promise.resolve(encodeRequest(req, address)));
    let wire = req.nat?.kind === 'local' && !literal ? undefined : await encode();

    let address = req.host;
    let family: 4 | 6;
    if (literal) family = literal === 6 ? 6 : 4;
    else {
      try {
        const res = await lookup(req.host, { family: req.family });
        address = res.address;
        family = res.family === 6 ? 6 : 4;
      } catch (e) {
        err.write(`knock: cannot resolve ${req.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
        return EXIT.failure;
      }
    }
    let bindAddress = a.bindAddress;
    if (a.iface) {
      bindAddress = sourceOf(a.iface, family);
      if (!bindAddress) { err.write(`knock: interface ${a.iface} has no IPv${family} address\n`); return EXIT.failure; }
    } else if (bindAddress && isIP(bindAddress.split('%')[0]!) !== family) {
      err.write(`knock: source ${bindAddress} is not an IPv${family} address\n`);
      return EXIT.failure;
    }
    wire ??= await encode(address);
    if (a.verbose) out.write(describe(req, address, wire, now));
    try {
      await send(wire, address, family, req.port, {
        ...(bindAddress ? { address: bindAddress } : {}), ...(req.sourcePort !== undefined ? { port: req.sourcePort } : {}),
      });
    } catch (e) {
      err.write(`knock: sending the SPA packet to ${address} udp/${req.port}: ${(e as Error).message}\n`);
      return EXIT.failure;
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof SpaInputError || e instanceof RcError || e instanceof GpgError) {
      err.write(`knock: ${e.message}\n`);
      return EXIT.failure;
    }
    throw e;
  }
}
