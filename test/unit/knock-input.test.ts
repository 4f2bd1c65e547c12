// KnockInput, where knocks come from, in kernel mode on the fake kernel and a fake NFLOG group
// (test/helpers): the mode asked for, kernel events arriving with the engine that judges them,
// SIGHUP and refreshes handed to kernel matching, the refusals, a start that fails, and stop.
// libpcap's path (captures of real interfaces) runs in test/e2e.

import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { Engine } from '../../lib/engine/engine.js';
import { KnockInput, wantedMatching, type Arrival, type KnockInputOptions } from '../../lib/daemon/knock-input.js';
import type { DaemonOptions } from '../../lib/daemon/options.js';
import type { Logger } from '../../lib/log/logger.js';
import { StartError } from '../../lib/daemon/start-error.js';
import { FakeKernel } from '../helpers/fake-firewall.js';
import { FakeNflog, FakeScheduler } from '../helpers/fake-nflog.js';

const CONF = '[ssh]\nSequence = 7000,8000,9000\nSeq_Timeout = 5\nCommand = /bin/true\n';
const TWO = `${CONF}[web]\nSequence = 6000,6001\nCommand = /bin/true\n`;
const PKT = { src: '10.77.0.2', dst: '10.77.0.1', family: 4 as const, protocol: 'tcp' as const, dport: 7000, tcpFlags: 2 };

const engineOf = (text: string) => new Engine(parseConfig(text, 'k.conf'), { localAddresses: ['10.77.0.1'], maxAttempts: 100, onlyIPv4: false,
  matching: 'kernel' }, { display: (ip) => ip, persistReplay: () => true });

const args = (o: Partial<DaemonOptions> = {}): DaemonOptions => ({
  config: 'k.conf', interfaces: undefined, daemon: false, debug: false, lookup: false, pidFile: undefined, logFile: undefined,
  verbose: false, onlyIPv4: false, stateDir: '/nonexistent', instance: undefined, maxAttempts: 100, matching: 'kernel', ...o,
});

interface Setup {
  kernel: FakeKernel;
  nflog: FakeNflog;
  input: KnockInput;
  engine: Engine;
  arrivals: Arrival[];
  lines: string[];
  verbose: string[];
}

function options(kernel: FakeKernel, nflog: FakeNflog, o: Partial<KnockInputOptions> & { into: Setup['arrivals']; lines: string[]; verbose: string[] }):
  KnockInputOptions {
  const logger = { log: (l: string) => o.lines.push(l), verbose: (l: string) => o.verbose.push(l), debug: () => {} } as unknown as Logger;
  return {
    args: o.args ?? args(), interfaces: o.interfaces ?? ['lo'], logger, firewalls: kernel.firewalls(),
    arrive: (a) => o.into.push(a), unheard: () => {}, reopened: () => {},
    kernel: { nflog: nflog.open, scheduler: new FakeScheduler() },
  };
}

async function setup(o: { args?: DaemonOptions; text?: string } = {}): Promise<Setup> {
  const kernel = new FakeKernel();
  const nflog = new FakeNflog();
  const arrivals: Arrival[] = [];
  const lines: string[] = [];
  const verbose: string[] = [];
  const opened = await KnockInput.open(engineOf(o.text ?? CONF), options(kernel, nflog, { into: arrivals, lines, verbose, args: o.args }));
  t.teardown(() => opened.input.stop());
  return { kernel, nflog, input: opened.input, engine: opened.engine, arrivals, lines, verbose };
}

const tableOf = (kernel: FakeKernel, name: string) => kernel.scripted.get(name)?.text ?? '';
const generation = (kernel: FakeKernel, name = 'knock_sesame') => Number(/"sesame (\d+) d0v0 /.exec(tableOf(kernel, name))?.[1]);

t.test('the mode asked for: --matching beats Matching; auto by default', async (t) => {
  const plain = parseConfig(CONF, 'k.conf');
  const pcap = parseConfig(`[options]\nMatching = pcap\n${CONF}`, 'k.conf');
  t.equal(wantedMatching(args({ matching: undefined }), plain), 'auto');
  t.equal(wantedMatching(args({ matching: undefined }), pcap), 'pcap');
  t.equal(wantedMatching(args({ matching: 'kernel' }), pcap), 'kernel');
});

t.test('kernel mode: the instance\'s table and group; events arrive with the engine that judges them', async (t) => {
  const { kernel, nflog, engine, arrivals, lines, verbose } = await setup();
  t.equal(engine.matching, 'kernel', 'the engine it was opened with');
  t.equal(nflog.group, 5900);
  t.same(verbose, ['matching knocks in the kernel: nftables table inet knock_sesame, NFLOG group 5900']);
  t.same(lines, [], 'the log stays knockd\'s');
  nflog.frame(`sesame ${generation(kernel)} d0v0 s 1`, PKT);
  t.equal(arrivals.length, 1);
  t.same({ ...arrivals[0], kernel: undefined }, { ...PKT, kernel: undefined });
  t.equal(arrivals[0]!.kernel!.engine, engine);
  t.same(arrivals[0]!.kernel!.event, { generation: generation(kernel), kind: 'stage', door: { index: 0, version: 0 }, stage: 1 });
});

t.test('a named instance has a table and group of its own', async (t) => {
  const { kernel, nflog } = await setup({ args: args({ instance: 'b' }) });
  t.ok(kernel.scripted.has('knock_sesame_b'));
  t.not(nflog.group, 5900);
});

t.test('SIGHUP and refreshes go to kernel matching: a new table, or the same one updated', async (t) => {
  const { kernel, nflog, input, arrivals } = await setup();
  const old = generation(kernel);
  const next = engineOf(TWO);
  input.reload(next);
  nflog.frame(`sesame ${old} d0v0 s 1`, PKT);
  t.equal(arrivals.length, 0, 'the old table is revoked at the signal');
  await input.stop();
  t.notOk(kernel.scripted.has('knock_sesame'), 'stop waits for the reload and removes the table');
  const s = await setup();
  const gen = generation(s.kernel);
  const batches = s.kernel.batches.length;
  s.input.refresh(s.engine);
  await new Promise((r) => setImmediate(r));
  t.equal(s.kernel.batches.length, batches + 1);
  t.match(s.kernel.batches.at(-1)!, /^flush chain inet knock_sesame /, 'updated in place');
  t.equal(generation(s.kernel), gen);
});

t.test('refusal: a config kernel matching cannot compile is not taken', async (t) => {
  const { input } = await setup();
  const many = Array.from({ length: 257 }, (_, i) => `[d${i}]\nSequence = ${1000 + i}\nCommand = /bin/true\n`).join('');
  t.equal(input.refusal(parseConfig(many, 'k.conf')), 'kernel matching: 257 knock doors, more than the 256 kernel matching compiles; ' +
    'keeping the running configuration (start with Matching = pcap for it)');
  t.equal(input.refusal(parseConfig(TWO, 'k.conf')), undefined);
});

t.test('Matching = kernel that fails is a start error; a missing interface fails as knockd\'s capture does', async (t) => {
  const kernel = new FakeKernel();
  const nflog = new FakeNflog();
  nflog.failOpen = 'nflog:5900: Operation not permitted\nmore';
  const sink = { into: [], lines: [], verbose: [] };
  const err = await KnockInput.open(engineOf(CONF), options(kernel, nflog, sink)).catch((e: unknown) => e);
  t.type(err, StartError);
  t.equal((err as Error).message, 'kernel matching failed: nflog:5900: Operation not permitted');
  const missing = await KnockInput.open(engineOf(CONF), options(kernel, new FakeNflog(), { ...sink, interfaces: ['nosuch0'] })).catch((e: unknown) => e);
  t.type(missing, StartError);
  t.equal((missing as Error).message, 'could not open nosuch0: No such device exists');
  t.equal(kernel.scripted.size, 0, 'no table');
});

t.test('stop after a crash does not wait long for the table to go', async (t) => {
  const { kernel, input } = await setup();
  await input.stop(true);
  t.notOk(kernel.scripted.has('knock_sesame'));
});
