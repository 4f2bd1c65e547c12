// Cross-check of the SPA fuzz against the real fwknopd 2.6.10: a sample of packets with a valid
// HMAC and broken fields (the hand-built catalogue plus random plaintext mutants) goes to
// `fwknopd -t -U` (test mode, UDP server, packet aging off) in a throw-away network namespace with
// only `lo`. Every packet Sesame's decoder accepts must reach "SPA Decode (res=0)" in fwknopd; the
// reference validator of the unit fuzz must agree with fwknopd on every packet (that is what makes
// it a stand-in for fwknopd in test/unit/spa-fuzz.test.ts); agreement counts are printed.
//
// After each sample packet a "sentinel" (a valid packet with a unique rand value) is sent; the
// fwknopd output before the sentinel's line belongs to the sample packet.

import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkShape, decodeWire } from '../../lib/spa/wire.js';
import {
  HMAC_KEYSETS, Rng, basePlaintext, brokenCases, plaintextMutant, refDecodeWire, seal, type FuzzKeySet,
} from '../helpers/spa-fuzz.js';

const FWKNOPD = '/usr/sbin/fwknopd';
const SEED = process.env.SPA_FUZZ_SEED ? Number(process.env.SPA_FUZZ_SEED) >>> 0 : 0x5e5a_3e01;
const NS = `ses-fz${process.pid}`;
const MUTANTS = 240;

t.setTimeout(90_000);
t.comment(`seed ${SEED} (SPA_FUZZ_SEED replays it)`);


const MODE: Record<string, string> = { cbc: 'CBC', ctr: 'CTR', cfb: 'CFB', ofb: 'OFB', ecb: 'ECB', legacy: 'legacy' };

function stanza(ks: FuzzKeySet): string {
  const k = ks.keys;
  return [
    'SOURCE ANY',
    ks.keyText !== undefined ? `KEY ${ks.keyText}` : `KEY_BASE64 ${Buffer.from(k.key).toString('base64')}`,
    `HMAC_KEY_BASE64 ${Buffer.from(k.hmacKey!).toString('base64')}`,
    `HMAC_DIGEST_TYPE ${k.hmacDigest}`,
    `ENCRYPTION_MODE ${MODE[k.mode]}`,
    'OPEN_PORTS tcp/22, udp/53',
    '',
  ].join('\n');
}

interface Sample {
  readonly label: string;
  readonly ks: FuzzKeySet;
  readonly wire: string;
  readonly sesame: boolean;
  readonly sesameWhy: string;
  readonly reference: boolean;
  readonly referenceWhy: string;
  /** What the catalogue says fwknop does, for hand-built cases. */
  readonly expected?: 'accept' | 'refuse' | '?';
}

function judge(label: string, ks: FuzzKeySet, wire: string, expected?: Sample['expected']): Sample {
  const shape = checkShape(wire);
  const d = decodeWire(wire, ks.keys);
  const r = refDecodeWire(wire, ks.keys);
  return {
    label, ks, wire, expected,
    sesame: shape === undefined && d.ok,
    sesameWhy: shape ?? (d.ok ? 'ok' : d.error),
    reference: r.ok,
    referenceWhy: r.ok ? 'ok' : r.why,
  };
}

function samples(): Sample[] {
  const rng = new Rng(SEED).fork('fwknopd');
  const out: Sample[] = [];
  brokenCases().forEach((c, i) => {
    const ks = HMAC_KEYSETS[i % HMAC_KEYSETS.length]!;
    const wire = c.wire ? c.wire(ks, rng.bytes(8)) : seal(c.plaintext!, ks, rng.bytes(8));
    out.push(judge(c.id, ks, wire, c.fwknop));
  });
  // Random plaintext mutants, weighted towards the interesting ones: accepted by the reference
  // (fwknop's leniencies) and accepted by Sesame.
  const want = { stricter: MUTANTS / 2, both: MUTANTS / 4, refused: MUTANTS / 4 };
  for (let i = 0; i < 20_000 && want.stricter + want.both + want.refused > 0; i++) {
    const ks = HMAC_KEYSETS[i % HMAC_KEYSETS.length]!;
    const pt = plaintextMutant(rng);
    const s = judge(`mutant ${JSON.stringify(pt)}`, ks, seal(pt, ks, rng.bytes(8)));
    const cls = s.sesame ? 'both' : s.reference ? 'stricter' : 'refused';
    if (s.wire.length >= 400 || want[cls] <= 0) continue;
    want[cls]--;
    out.push(s);
  }
  return out;
}

function run(): void {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-fz-'));
  let fwknopd: ChildProcess | undefined;
  let sender: ChildProcess | undefined;
  let output = '';

  t.teardown(async () => {
    for (const p of [sender, fwknopd]) {
      if (!p || p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  t.test('fwknopd decodes everything Sesame accepts; the reference agrees with fwknopd', async (t) => {
    const must = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    };
    must('ip', ['netns', 'add', NS]);
    must('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);

    const conf = join(dir, 'fwknopd.conf');
    const access = join(dir, 'access.conf');
    writeFileSync(conf, [
      'ENABLE_SPA_PACKET_AGING N', 'ENABLE_DIGEST_PERSISTENCE N', `FWKNOP_RUN_DIR ${dir}`,
      'ENABLE_UDP_SERVER Y', 'UDPSERV_PORT 62201', 'PCAP_INTF lo', '',
    ].join('\n'), { mode: 0o600 });
    writeFileSync(access, HMAC_KEYSETS.map(stanza).join('\n'), { mode: 0o600 });

    fwknopd = spawn('ip', ['netns', 'exec', NS, 'sh', '-c', 'exec "$0" "$@" 2>&1', FWKNOPD, '-f', '-v', '-v', '-t', '-U',
      '-c', conf, '-a', access, '-d', join(dir, 'digest.cache'), '-p', join(dir, 'fwknopd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    fwknopd.stdout!.on('data', (b: Buffer) => { output += b.toString('latin1'); });
    fwknopd.stderr!.on('data', (b: Buffer) => { output += b.toString('latin1'); });

    const until = async (what: string, ok: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; fwknopd said:\n${output.slice(-2000)}`);
        if (fwknopd!.exitCode !== null) throw new Error(`fwknopd exited (${fwknopd!.exitCode}):\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await until('the UDP server', () => output.includes('Kicking off UDP server'), 10_000);

    // One datagram per input line (base64 of the payload bytes), sent from inside the namespace.
    sender = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', `
      const s = require('node:dgram').createSocket('udp4');
      const rl = require('node:readline').createInterface({ input: process.stdin });
      rl.on('line', (l) => s.send(Buffer.from(l, 'base64'), 62201, '127.0.0.1', (e) => { if (e) console.error(e.message); }));
      rl.on('close', () => s.close());
    `], { stdio: ['pipe', 'inherit', 'inherit'] });

    const list = samples();
    const sentinelKs = HMAC_KEYSETS[2]!;
    const sentinelRng = new Rng(SEED).fork('sentinel');
    let cursor = output.length;
    const results: { s: Sample; fwknopd: boolean; error: string }[] = [];
    const started = Date.now();
    for (const [i, s] of list.entries()) {
      const rand = `9${String(i).padStart(15, '0')}`;
      const sentinel = seal(basePlaintext({ rand }), sentinelKs, sentinelRng.bytes(8));
      sender.stdin!.write(`${Buffer.from(s.wire, 'latin1').toString('base64')}\n${Buffer.from(sentinel).toString('base64')}\n`);
      await until(`sentinel ${i}`, () => output.includes(`Random Value: ${rand}`, cursor), 5_000);
      const end = output.indexOf(`SPA Packet: '${sentinel}'`, cursor);
      const segment = output.slice(cursor, end);
      cursor = output.indexOf(`Random Value: ${rand}`, cursor);
      const stanzaNo = HMAC_KEYSETS.indexOf(s.ks) + 1;
      const err = new RegExp(`\\(stanza #${stanzaNo}\\) Error creating fko context: (.*)`).exec(segment)?.[1]
        ?? /preprocess_spa_data\(\) returned error \d+: '([^']*)'/.exec(segment)?.[1]
        ?? /No stanza encryption mode match[^\n]*/.exec(segment)?.[0]
        ?? (segment.includes('Got UDP datagram') ? '' : 'not processed (size)');
      results.push({ s, fwknopd: segment.includes(`(stanza #${stanzaNo}) SPA Decode (res=0)`), error: err });
    }
    t.comment(`${list.length} packets in ${Date.now() - started} ms`);

    const agree = (a: boolean, b: boolean) => (a === b ? 'agree' : 'differ');
    const tally = new Map<string, number>();
    for (const r of results) {
      const k = `sesame ${r.s.sesame ? 'accepts' : 'refuses'}, fwknopd ${r.fwknopd ? 'decodes' : 'refuses'}`;
      tally.set(k, (tally.get(k) ?? 0) + 1);
    }
    t.comment(`sesame vs fwknopd: ${JSON.stringify(Object.fromEntries(tally))}`);
    const refAgree = results.filter((r) => agree(r.s.reference, r.fwknopd) === 'agree').length;
    t.comment(`reference vs fwknopd: ${refAgree}/${results.length} agree`);
    // Where Sesame is stricter than fwknopd: each hand-built case, and the mutants by refusal code.
    const stricterMutants = new Map<string, number>();
    for (const r of results.filter((r) => !r.s.sesame && r.fwknopd)) {
      if (r.s.expected) t.comment(`fwknopd decodes, Sesame refuses (${r.s.sesameWhy}): ${r.s.label}`);
      else stricterMutants.set(r.s.sesameWhy, (stricterMutants.get(r.s.sesameWhy) ?? 0) + 1);
    }
    t.comment(`mutants fwknopd decodes and Sesame refuses, by Sesame's code: ${JSON.stringify(Object.fromEntries(stricterMutants))}`);

    const acceptedRefused = results.filter((r) => r.s.sesame && !r.fwknopd);
    t.same(acceptedRefused.map((r) => ({ label: r.s.label, keyset: r.s.ks.name, fwknopd: r.error, wire: r.s.wire })), [],
      'every packet Sesame accepts is decoded by fwknopd', { seed: SEED });
    t.ok(results.some((r) => r.s.sesame && r.fwknopd), 'some packets are accepted by both');

    const refDiff = results.filter((r) => r.s.reference !== r.fwknopd);
    t.same(refDiff.map((r) => ({ label: r.s.label, keyset: r.s.ks.name, reference: r.s.referenceWhy, fwknopd: r.fwknopd ? 'decoded' : r.error })), [],
      'the reference validator agrees with fwknopd on every packet', { seed: SEED });

    const catalogue = results.filter((r) => r.s.expected && r.s.expected !== '?' && r.s.wire.length >= 140 && r.s.wire.length < 400);
    const offCatalogue = catalogue.filter((r) => (r.s.expected === 'accept') !== r.fwknopd);
    t.same(offCatalogue.map((r) => ({ label: r.s.label, expected: r.s.expected, fwknopd: r.fwknopd ? 'decoded' : r.error })), [],
      `fwknopd does what the catalogue says for the ${catalogue.length} hand-built cases that fit a Rijndael packet`);
    for (const r of results.filter((r) => r.s.expected === '?')) {
      t.comment(`unknown until now: ${r.s.label} -> fwknopd ${r.fwknopd ? 'decodes' : `refuses (${r.error})`}`);
    }
  });
}

const have = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
if (process.getuid?.() !== 0) t.fail('needs root (network namespaces)');
else if (!have(FWKNOPD, ['--version'])) t.fail(`${FWKNOPD} is not installed`);
else run();
