// Backends and the grant table without a kernel: the nft program replaced by small scripts, the
// addon by a stub, the backend by a recorder. (The real thing runs in test/e2e/firewall-*.)

import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliBackend, NativeBackend, NftError, isNoEntry, openBackend, type NftBackend, type NftRunOptions } from '../../lib/firewall/backend.js';
import { GrantTable } from '../../lib/firewall/grants.js';
import { FirewallInputError } from '../../lib/firewall/validate.js';
import { nftErrno } from '../../lib/firewall/nft-errno.js';
import { isNftErrno } from '../../lib/firewall/types.js';
import { NftFirewall, nftFirewalls, nftInspector } from '../../lib/firewall/nft-firewall.js';
import { snapshotsAvailable } from '../../lib/firewall/table-dump.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-fw-unit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for nft: records its arguments and standard input, then does `body`. */
function fakeNft(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\nprintf '%s\\0' "$@" > "${p}.args"\ncat > "${p}.stdin"\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}
const recorded = (p: string) => ({ args: readFileSync(`${p}.args`, 'utf8').split('\0').slice(0, -1), stdin: readFileSync(`${p}.stdin`, 'utf8') });

const savedEnv = process.env['SESAME_NFT_BACKEND'];
t.afterEach(() => {
  if (savedEnv === undefined) delete process.env['SESAME_NFT_BACKEND'];
  else process.env['SESAME_NFT_BACKEND'] = savedEnv;
});

t.test('CliBackend: the batch goes to nft -f - on standard input, output comes back', async (t) => {
  const nft = fakeNft('ok', "printf 'listing'");
  const b = new CliBackend({ nft });
  t.equal(b.name, 'nft');
  t.equal(await b.run('add table inet x\nadd table inet y\n'), 'listing');
  t.same(recorded(nft), { args: ['-f', '-'], stdin: 'add table inet x\nadd table inet y\n' });
  t.equal(await b.run('{"nftables":[]}', { json: true }), 'listing');
  t.same(recorded(nft), { args: ['-j', '-f', '-'], stdin: '{"nftables":[]}' }, 'JSON input: nft -j -f -');
  await b.run('list set inet sesame allow4\n', { json: true });
  t.same(recorded(nft), { args: ['-j', '--', 'list set inet sesame allow4\n'], stdin: '' }, 'text with JSON output: on the command line');
});

t.test('CliBackend: nft errors reject with nft\'s text', async (t) => {
  const nft = fakeNft('fail', "echo '/dev/stdin:1:21-26: Error: No such file or directory' >&2; echo 'delete element' >&2; exit 1");
  const err = await new CliBackend({ nft }).run('delete element inet x s { 1.2.3.4 }').catch((e: unknown) => e);
  t.type(err, NftError);
  t.equal((err as Error).message, '/dev/stdin:1:21-26: Error: No such file or directory\ndelete element');
  t.equal((err as NftError).errno, 'ENOENT', 'the errno read back once, by the backend');
  t.ok(isNoEntry(err));
  t.notOk(isNoEntry(new Error('No such file or directory')), 'only NftErrors');
  t.notOk(isNoEntry(new NftError('Error: No such file or directory')), 'decided on the errno, not on the text');
  const silent = fakeNft('silent', 'exit 3');
  await t.rejects(new CliBackend({ nft: silent }).run('x'), { name: 'NftError', message: 'nft: exit 3', errno: undefined });
  const missing = await new CliBackend({ nft: join(dir, 'missing') }).run('x').catch((e: unknown) => e);
  t.match(missing, { name: 'NftError', message: /ENOENT/, errno: undefined, cause: { code: 'ENOENT' } }, 'a missing nft program is no missing table; its error is the cause');
  t.notOk(isNoEntry(missing));
});

t.test('CliBackend: a hanging nft is killed after the timeout', async (t) => {
  const nft = fakeNft('hang', 'exec sleep 30');
  const t0 = Date.now();
  await t.rejects(new CliBackend({ nft, timeoutMs: 300 }).run('x'), { name: 'NftError', message: /no answer within 300 ms/ });
  t.ok(Date.now() - t0 < 3000);
});

t.test('NativeBackend: ok output, errors as NftError, json passed on', async (t) => {
  const calls: Array<[string, boolean | undefined]> = [];
  let answer = { ok: true, output: 'out', error: '' };
  const b = new NativeBackend({ run: async (text, opts) => { calls.push([text, opts?.json]); return answer; }, close: () => {} });
  t.equal(b.name, 'libnftables');
  t.equal(await b.run('a'), 'out');
  t.equal(await b.run('b', { json: true }), 'out');
  t.same(calls, [['a', false], ['b', true]]);
  answer = { ok: false, output: '', error: 'Error: Could not process rule: No such file or directory\nx\n ^^^\n' };
  await t.rejects(b.run('c'), { name: 'NftError', message: 'Error: Could not process rule: No such file or directory\nx\n ^^^', errno: 'ENOENT' });
  answer = { ok: false, output: '', error: 'Error: Could not process rule: File exists\n' };
  const exists = await b.run('c').catch((e: unknown) => e);
  t.ok(isNftErrno(exists, 'EEXIST') && !isNoEntry(exists));
  answer = { ok: false, output: '', error: '' };
  await t.rejects(b.run('c'), { name: 'NftError', message: 'nft: command failed', errno: undefined });
});

t.test('nftErrno: the first failure\'s errno in nft\'s text', async (t) => {
  t.equal(nftErrno('Error: Could not process rule: No such file or directory\nadd element inet x a { 1 }'), 'ENOENT');
  t.equal(nftErrno("Error: No such file or directory; did you mean table 'sesame' in family inet?"), 'ENOENT');
  t.equal(nftErrno('Error: Could not process rule: Operation not permitted\nError: Could not process rule: No such file or directory'), 'EPERM', 'the first one');
  t.equal(nftErrno('Error: syntax error, unexpected junk'), undefined, 'a syntax error has none');
  t.equal(nftErrno(''), undefined);
});

t.test('openBackend: the addon when it loads, nft otherwise, SESAME_NFT_BACKEND forces', async (t) => {
  delete process.env['SESAME_NFT_BACKEND'];
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const native = await openBackend(log);
  t.equal(native.name, 'libnftables', 'the addon is built here (npm ci)');
  (native as NativeBackend).close();
  t.equal((await openBackend(log, 'cli')).name, 'nft');
  process.env['SESAME_NFT_BACKEND'] = 'cli';
  t.equal((await openBackend(log, 'native')).name, 'nft');
  process.env['SESAME_NFT_BACKEND'] = 'native';
  const forced = await openBackend(log, 'cli');
  t.equal(forced.name, 'libnftables');
  (forced as NativeBackend).close();
  process.env['SESAME_NFT_BACKEND'] = 'iptables';
  await t.rejects(openBackend(log), /SESAME_NFT_BACKEND must be native or cli/);
  t.same(lines, [
    'firewall: using libnftables (nftables-napi)',
    'firewall: using nft -f - (asked for)',
    'firewall: using nft -f - (SESAME_NFT_BACKEND=cli)',
    'firewall: using libnftables (nftables-napi)',
  ]);
});

t.test('openBackend: an addon that does not load falls back to nft and says why', async (t) => {
  delete process.env['SESAME_NFT_BACKEND'];
  const { openBackend: open } = await t.mockImport<typeof import('../../lib/firewall/backend.js')>('../../lib/firewall/backend.js', {
    '../../lib/firewall/native-backend.js': {
      loadNativeBackend: async () => { throw new Error("Cannot find package 'nftables-napi' imported from x\n    at stack"); },
      NativeBackend: class {},
    },
  });
  const lines: string[] = [];
  t.equal((await open((l) => lines.push(l))).name, 'nft');
  t.same(lines, ["firewall: nftables-napi unavailable (Cannot find package 'nftables-napi' imported from x); using nft -f -"]);
  process.env['SESAME_NFT_BACKEND'] = 'native';
  await t.rejects(open(), /SESAME_NFT_BACKEND=native but nftables-napi is unavailable \(Cannot find package/);
});

class Recorder implements NftBackend {
  readonly name = 'nft' as const;
  readonly batches: Array<[string, NftRunOptions | undefined]> = [];
  constructor(private readonly answer: (batch: string) => string = () => '') {}
  async run(batch: string, opts?: NftRunOptions): Promise<string> {
    this.batches.push([batch, opts]);
    return this.answer(batch);
  }
}

t.test('GrantTable: one batch per call, nothing run for nothing, validation first', async (t) => {
  const r = new Recorder();
  const table = new GrantTable(r, 'fwunit');
  await table.install([{ protocol: 'tcp', port: 22 }]);
  await table.grant([]);
  await table.grant([{ address: '10.0.0.1', protocol: 'tcp', port: 22, timeout: 5 }, { address: 'fd00::1', protocol: 'udp', port: 53, timeout: 5 }]);
  await table.flush();
  t.equal(r.batches.length, 3);
  t.match(r.batches[0]![0], /^add table inet fwunit\n/);
  t.equal(r.batches[1]![0].split('\n').filter(Boolean).length, 6, 'both grants in one batch');
  t.equal(r.batches[2]![0], 'add table inet fwunit\ndelete table inet fwunit\n');
  await t.rejects(table.grant([{ address: '10.0.0.1', protocol: 'tcp', port: 22, timeout: 5 }, { address: 'nope', protocol: 'tcp', port: 22, timeout: 5 }]), FirewallInputError);
  t.equal(r.batches.length, 3, 'nothing ran');
  t.throws(() => new GrantTable(r, 'bad name'), FirewallInputError);
});

t.test('GrantTable.list: both sets, JSON, a missing table is no grants', async (t) => {
  const listing = (set: string, elem: unknown[]) => JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name: set, elem } }] });
  const ok = new Recorder((b) => b.includes('allow4')
    ? listing('allow4', [{ elem: { val: { concat: ['10.0.0.1', 'tcp', 22] }, timeout: 30, expires: 12 } }])
    : listing('allow6', [{ elem: { val: { concat: ['fd00::1', 'udp', 53] }, timeout: 3, expires: 1 } }]));
  t.same(await new GrantTable(ok).list(), [
    { address: '10.0.0.1', protocol: 'tcp', port: 22, timeout: 30, expires: 12 },
    { address: 'fd00::1', protocol: 'udp', port: 53, timeout: 3, expires: 1 },
  ]);
  t.same(ok.batches.map(([b, o]) => [b, o]).sort(), [['list set inet sesame allow4\n', { json: true }], ['list set inet sesame allow6\n', { json: true }]]);
  const missing: NftBackend = { name: 'nft', run: async () => { throw new NftError('Error: No such file or directory\nlist set inet sesame allow4', { errno: 'ENOENT' }); } };
  t.same(await new GrantTable(missing).list(), []);
  const denied: NftBackend = { name: 'nft', run: async () => { throw new NftError('Error: Operation not permitted', { errno: 'EPERM' }); } };
  await t.rejects(new GrantTable(denied).list(), { message: 'Error: Operation not permitted' });
});

t.test('NftFirewall: the contract on GrantTable, batch for batch', async (t) => {
  const plan = { guards: [{ protocol: 'tcp' as const, port: 22 }], nat: undefined, interfaces: ['eth0'], yielded: [{ iface: 'eth1', protocol: 'tcp' as const, port: 22 }] };
  const grants = [{ address: '1.2.3.4', protocol: 'tcp' as const, port: 22, timeout: 30 }];
  const unyield = [{ table: 'sesame_b', pair: { iface: 'eth0', protocol: 'tcp' as const, port: 22 } }];
  const viaContract = new Recorder();
  const direct = new Recorder();
  const fw = new NftFirewall(new GrantTable(viaContract, 'fwunit'));
  const table = new GrantTable(direct, 'fwunit');
  t.equal(fw.table, 'fwunit');
  await fw.install(plan, grants, unyield);
  await table.replace(plan.guards, plan.nat, plan.interfaces, plan.yielded, grants, unyield);
  await fw.grant(grants);
  await table.grant(grants);
  await fw.revoke([{ set: 'allow4', text: '1.2.3.4 . tcp . 22' }]);
  await table.revoke([{ set: 'allow4', text: '1.2.3.4 . tcp . 22' }]);
  await fw.setYielded([]);
  await table.setYielded([]);
  await fw.flush(unyield);
  await table.flushWith(unyield);
  t.same(viaContract.batches, direct.batches);
  const missing: NftBackend = { name: 'nft', run: async () => { throw new NftError('Error: No such file or directory', { errno: 'ENOENT' }); } };
  const gone = new NftFirewall(new GrantTable(missing, 'fwunit'));
  t.same(await gone.list(), []);
  t.same(await gone.listNat(), []);
  t.equal(await gone.intact(plan), false);
  const inspector = nftInspector('fwunit');
  t.equal(inspector === undefined, !snapshotsAvailable(), 'an inspector where the addon loaded');
  t.equal(typeof nftFirewalls.open, 'function');
});
