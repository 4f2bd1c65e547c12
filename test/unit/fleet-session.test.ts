// The fleet session (lib/fleet/session*.ts), the conversation of one node as decisions: ids with a
// per-boot tag; asks batched and collecting answers for ASK_MS, the open asks bounded; answers on
// the fleet's clock; grants heard once (applied ids, a resync does not repeat them); refusals
// counted by reason; claims and shares kept while Redis is away (bounded, dropped counted) and made
// after the fact with the same sealed values; restamping; the log lines of a catch-up and a resync.
// A fake engine records what it is fed.

import t from 'tap';
import type { Effect } from '../../lib/engine/effects.js';
import type { Engine } from '../../lib/engine/engine.js';
import { FleetSession, MAX_APPLIED, ONETIME_CLAIM_MS, newResync, newTally } from '../../lib/fleet/session.js';
import { ASK_MS, BATCH_MS, MAX_OPEN_ASKS } from '../../lib/fleet/session-asks.js';
import { MAX_PENDING, type PendingClaim } from '../../lib/fleet/session-pending.js';
import { resyncLine, retryLine } from '../../lib/fleet/session-lines.js';
import type { FleetInput, Now, SessionEngine } from '../../lib/fleet/session-types.js';
import { MAX_ASKS, type Answer, type AskNote, type GrantNote, type HitsNote } from '../../lib/fleet/notes.js';
import type { Hit } from '../../lib/matcher/shared-knocks.js';

// The engine the daemon hands in is one (checked by lint:types).
export const engineFits = (e: Engine): SessionEngine<Effect> => e;

const WALL = 1_800_000_000_000;
const BOOT = Uint8Array.from([0xde, 0xad, 0x0b, 0x07]);
const at = (wall: number, offset = 0): Now => ({ wall, offset });

type Fx = { readonly kind: string; readonly n?: number };

/** Records its inputs; `effects` decides what handle returns, `hits` what fleetHits does. */
class FakeEngine implements SessionEngine<Fx> {
  inputs: FleetInput[] = [];
  hitsAsked: [string, string, number][] = [];
  effects: (i: FleetInput) => Fx[] = () => [];
  hits: (door: string, src: string) => Hit[] = () => [];
  fleetHits(door: string, src: string, wall: number): Hit[] {
    this.hitsAsked.push([door, src, wall]);
    return this.hits(door, src);
  }
  handle(input: FleetInput): Fx[] {
    this.inputs.push(input);
    return this.effects(input);
  }
}

const share = { kind: 'knock' as const, door: 'ssh', ip: '10.0.0.7', family: 4 as const, timeout: 60 };
const grantNote = (id: string, node = 'b', atMs = WALL, timeout = 60): GrantNote =>
  ({ type: 'grant', id, node, kind: 'knock', door: 'ssh', ip: '10.0.0.7', family: 4, timeout, at: atMs });
const pendingClaim = (key: string, announce = false): PendingClaim => ({
  key, ttlMs: 120_000, value: `sealed-${key}`, also: [`${key}-old`], what: 'SPA digest',
  ...(announce ? { announce: { type: 'onetime' as const, node: 'a', door: 'ssh', sequence: [{ protocol: 'tcp' as const, port: 1 }] } }
    : {}),
});
const hit = (port: number, atMs: number): Hit => ({ protocol: 'tcp', port, at: atMs });

t.test('ids: ask ids carry the node and the boot tag, share ids the node and wall time; one counter', async (t) => {
  const s = new FleetSession('a', BOOT);
  t.equal(s.boot, 'dead0b07');
  const b = s.ask('ssh', '10.0.0.7', 4, at(WALL));
  t.equal(s.share(share, at(WALL)).id, `a:${WALL.toString(36)}:1`);
  s.ask('ssh', '10.0.0.8', 4, at(WALL));
  t.same(b, { notes: [], wait: true });
  const [note] = s.asks.flush() as [AskNote];
  t.same(note.asks.map((a) => a.id), ['a.dead0b07.0', 'a.dead0b07.2']);
  t.equal(new FleetSession('a', Uint8Array.from([0, 1, 2, 255])).boot, '000102ff', 'leading zeros kept');
});

t.test("an answer to an ask of an earlier run (another boot tag) never matches one of this run's", async (t) => {
  const e = new FakeEngine();
  e.effects = () => [{ kind: 'grant' }];
  const before = new FleetSession('a', Uint8Array.from([1, 1, 1, 1]));
  before.ask('ssh', '10.0.0.7', 4, at(WALL));
  const oldId = (before.asks.flush()[0] as AskNote).asks[0]!.id;
  const now = new FleetSession('a', Uint8Array.from([2, 2, 2, 2]));
  now.ask('ssh', '10.0.0.7', 4, at(WALL));
  t.equal(oldId.split('.')[2], '0', 'the same counter value...');
  t.same(now.asks.answered('b', { to: 'a', id: oldId, hits: [hit(1, WALL)] }, at(WALL + 5), e), []);
  t.same(e.inputs, [], '... but another tag: the engine hears nothing');
});

t.test('batching: asks within the batch window leave in one note; a full batch leaves at once', async (t) => {
  t.equal(BATCH_MS, 10);
  const s = new FleetSession('a', BOOT);
  t.notOk(s.asks.waiting);
  for (let i = 0; i < 5; i++) t.same(s.ask('ssh', `10.0.0.${i}`, 4, at(WALL + i)), { notes: [], wait: true });
  t.ok(s.asks.waiting);
  const notes = s.asks.flush();
  t.equal(notes.length, 1, 'one PUBLISH for the batch');
  t.same(notes[0], {
    type: 'ask', node: 'a',
    asks: [0, 1, 2, 3, 4].map((i) => ({ id: `a.dead0b07.${i}`, door: 'ssh', src: `10.0.0.${i}` })),
  });
  t.notOk(s.asks.waiting);
  t.same(s.asks.flush(), [], 'nothing twice');
  let waited = 0;
  for (let i = 0; i < MAX_ASKS - 1; i++) if (s.ask('ssh', `10.1.${i >> 8}.${i & 255}`, 4, at(WALL)).wait) waited++;
  t.equal(waited, MAX_ASKS - 1, 'all but the last wait');
  const full = s.ask('ssh', '10.2.0.0', 4, at(WALL));
  t.equal(full.wait, false);
  t.equal(full.notes.length, 1);
  t.equal((full.notes[0] as AskNote).asks.length, MAX_ASKS, `the ${MAX_ASKS}th ask sends the batch`);
  t.notOk(s.asks.waiting);
});

t.test('answers: this node\'s hits of each asked source, on the fleet\'s clock, batched after the asks', async (t) => {
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  e.hits = (door, src) => (src === '10.0.0.9' ? [] : [hit(7000, WALL - 100), hit(8000, WALL - 50)]);
  const asks = [{ id: 'b.x.0', door: 'ssh', src: '10.0.0.7' }, { id: 'b.x.1', door: 'ssh', src: '10.0.0.9' }];
  t.same(s.asks.answer('b', asks, at(WALL, 250), e), { notes: [], wait: true });
  t.same(e.hitsAsked, [['ssh', '10.0.0.7', WALL], ['ssh', '10.0.0.9', WALL]], 'asked on the wall clock');
  s.ask('ssh', '10.0.0.1', 4, at(WALL));
  const [asksNote, hitsNote] = s.asks.flush() as [AskNote, HitsNote];
  t.equal(asksNote.type, 'ask', 'asks first, then answers');
  t.same(hitsNote, {
    type: 'hits', node: 'a', answers: [{ to: 'b', id: 'b.x.0', hits: [hit(7000, WALL + 150), hit(8000, WALL + 200)] }],
  }, 'no answer where there are no hits; hits shifted by the offset');
  t.same(s.asks.answer('b', [asks[1]!], at(WALL), e), { notes: [], wait: false }, 'nothing to answer: no batch');
});

t.test('answers: a full batch leaves in the middle of a note, the rest waits', async (t) => {
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  e.hits = () => [hit(1, WALL)];
  const asks = Array.from({ length: MAX_ASKS + 10 }, (_, i) => ({ id: `b.x.${i}`, door: 'ssh', src: `10.0.${i >> 8}.${i & 255}` }));
  const b = s.asks.answer('b', asks, at(WALL), e);
  t.equal(b.notes.length, 1);
  t.equal((b.notes[0] as HitsNote).answers.length, MAX_ASKS);
  t.equal(b.wait, true, '10 answers wait for the timer');
  t.equal((s.asks.flush()[0] as HitsNote).answers.length, 10);
});

t.test('an ask collects answers from several nodes until ASK_MS; it is settled once the engine opens', async (t) => {
  t.equal(ASK_MS, 300);
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  s.ask('knock', '10.0.0.7', 4, at(WALL));
  const id = 'a.dead0b07.0';
  const ans = (hits: Hit[], to = 'a', aid = id): Answer => ({ to, id: aid, hits });
  // The engine opens once it has three hits.
  e.effects = (i) => (i.kind === 'fleet-answered' && i.hits.length >= 3 ? [{ kind: 'grant' }, { kind: 'log' }] : []);
  t.same(s.asks.answered('b', ans([hit(1, WALL + 1000)]), at(WALL + 10, 1000), e), [], 'one hit: not yet');
  t.same(e.inputs[0], {
    kind: 'fleet-answered', door: 'knock', src: '10.0.0.7', family: 4, hits: [hit(1, WALL)], nodes: ['b'], wall: WALL + 10,
  }, 'hits put back on this node\'s clock');
  t.same(s.asks.answered('c', ans([hit(2, WALL + 5)], 'b'), at(WALL + 20), e), [], 'addressed to another node: ignored');
  t.same(s.asks.answered('c', ans([hit(2, WALL + 5)], 'a', 'a.dead0b07.99'), at(WALL + 20), e), [], 'an unknown id: ignored');
  t.equal(e.inputs.length, 1);
  t.same(s.asks.answered('c', ans([hit(2, WALL + 5)]), at(WALL + 20), e), []);
  t.same(s.asks.answered('b', ans([hit(3, WALL + 6)]), at(WALL + 30), e), [{ kind: 'grant' }, { kind: 'log' }]);
  const last = e.inputs[2] as Extract<FleetInput, { kind: 'fleet-answered' }>;
  t.same(last.hits, [hit(1, WALL), hit(2, WALL + 5), hit(3, WALL + 6)], 'all answers\' hits together');
  t.same(last.nodes, ['b', 'c'], 'each node once');
  t.same(s.asks.answered('d', ans([hit(4, WALL)]), at(WALL + 40), e), [], 'settled: later answers change nothing');
  t.equal(e.inputs.length, 3);
  t.equal(s.asks.openCount, 0);

  s.ask('knock', '10.0.0.8', 4, at(WALL));
  const id2 = 'a.dead0b07.1';
  t.same(s.asks.answered('b', ans([hit(1, WALL)], 'a', id2), at(WALL + ASK_MS - 1), e), [], 'just in time: heard');
  t.equal(e.inputs.length, 4);
  t.same(s.asks.answered('b', ans([hit(2, WALL)], 'a', id2), at(WALL + ASK_MS), e), [], 'ASK_MS over: ignored');
  t.equal(e.inputs.length, 4);
  s.ask('knock', '10.0.0.9', 4, at(WALL + ASK_MS));
  t.equal(s.asks.openCount, 1, 'the expired ask went at the next one');
});

t.test('open asks are bounded: under a flood the oldest make room', async (t) => {
  const e = new FakeEngine();
  e.effects = () => [{ kind: 'grant' }];
  const s = new FleetSession('a', BOOT, { openAsks: 3 });
  for (let i = 0; i < 4; i++) s.ask('ssh', `10.0.0.${i}`, 4, at(WALL + i));
  t.equal(s.asks.openCount, 3);
  t.same(s.asks.answered('b', { to: 'a', id: 'a.dead0b07.0', hits: [hit(1, WALL)] }, at(WALL + 5), e), [], 'the oldest went');
  t.same(s.asks.answered('b', { to: 'a', id: 'a.dead0b07.1', hits: [hit(1, WALL)] }, at(WALL + 5), e), [{ kind: 'grant' }]);

  t.equal(MAX_OPEN_ASKS, 16_384);
  const big = new FleetSession('a', BOOT);
  for (let i = 0; i <= MAX_OPEN_ASKS; i++) big.ask('ssh', '10.0.0.1', 4, at(WALL));
  t.equal(big.asks.openCount, MAX_OPEN_ASKS, 'the real cap');
});

t.test('a grant heard: the time left from its fleet time; carried out once; a refused one takes no room', async (t) => {
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  e.effects = (i) => (i.kind === 'fleet-grant' && i.note.door === 'ssh' ? [{ kind: 'log' }, { kind: 'grant' }] : [{ kind: 'log' }]);
  const n = grantNote('b:1:0', 'b', WALL + 10_000);
  // Fleet time is WALL + 10_000 + 20_500: 20.5 s of 60 used.
  t.same(s.heard(n, at(WALL + 20_500, 10_000), e), [{ kind: 'log' }, { kind: 'grant' }]);
  t.same(e.inputs, [{ kind: 'fleet-grant', note: n, seconds: 40, wall: WALL + 20_500 }], 'ceil of 39.5 s');
  t.same(s.heard(n, at(WALL + 21_000, 10_000), e), [], 'heard again (a resync, a second path): not repeated');
  t.equal(e.inputs.length, 1);

  const future = grantNote('b:2:0', 'b', WALL + 5000);
  s.heard(future, at(WALL), e);
  t.equal((e.inputs[1] as Extract<FleetInput, { kind: 'fleet-grant' }>).seconds, 60, 'stamped in the future: just made');
  t.same(s.heard(grantNote('b:3:0', 'b', WALL - 60_000), at(WALL), e), [], 'over: nothing');
  t.equal(e.inputs.length, 2);

  const other = { ...grantNote('b:4:0'), door: 'web' };
  t.same(s.heard(other, at(WALL), e), [{ kind: 'log' }], 'refused here (no such door)');
  t.same(s.heard(other, at(WALL), e), [{ kind: 'log' }], '... so heard again, judged again');
  t.equal(e.inputs.length, 4);
});

t.test('a one-time note heard goes to the engine with the wall time', async (t) => {
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  e.effects = () => [{ kind: 'filter' }];
  const note = { type: 'onetime' as const, node: 'b', door: 'ssh', sequence: [{ protocol: 'udp' as const, port: 9 }] };
  t.same(s.heard(note, at(WALL, 500), e), [{ kind: 'filter' }]);
  t.same(e.inputs, [{ kind: 'fleet-onetime', note, wall: WALL }]);
});

t.test('applied ids: a resync repeats neither a grant heard live nor one made here; others are loaded and counted', async (t) => {
  const s = new FleetSession('a', BOOT), e = new FakeEngine();
  e.effects = () => [{ kind: 'grant' }];
  const heard = grantNote('b:1:0');
  s.heard(heard, at(WALL), e);
  const own = s.share(share, at(WALL));
  t.same(own, { type: 'grant', id: `a:${WALL.toString(36)}:0`, node: 'a', at: WALL, ...share }, 'stamped: id, node, fleet time');
  const r = newResync();
  const now = at(WALL + 1000);
  t.same(s.load({ note: heard, remainingMs: 59_000 }, r, now, e), [], 'heard live: not again');
  t.same(s.load({ note: own, remainingMs: 59_000 }, r, now, e), [], 'this node\'s own');
  t.same(s.load({ note: { ...own, node: 'b' }, remainingMs: 59_000 }, r, now, e), [], 'an id made here, whoever claims it');
  t.equal(r.loaded, 0);
  t.equal(e.inputs.length, 1);
  const fresh = grantNote('c:1:0', 'c');
  t.same(s.load({ note: fresh, remainingMs: 30_001 }, r, now, e), [{ kind: 'grant' }]);
  t.same(e.inputs[1], { kind: 'fleet-grant', note: fresh, seconds: 31, wall: WALL + 1000 }, 'the stored time left');
  t.equal(r.loaded, 1);
  t.same(s.load({ note: fresh, remainingMs: 30_000 }, r, now, e), [], 'the next resync: not again');
  t.same(s.load({ note: grantNote('c:2:0', 'c'), remainingMs: 0 }, r, now, e), [], 'over');
  t.equal(r.loaded, 2, 'an expired one still counts as loaded (as before)');
  t.same(s.heard(heard, at(WALL + 61_000), e), [], 'after its expiry: over anyway');
  t.equal(MAX_APPLIED, 16_384);
});

t.test('applied ids are bounded: beyond the cap the oldest are forgotten', async (t) => {
  const s = new FleetSession('a', BOOT, { applied: 2 }), e = new FakeEngine();
  e.effects = () => [{ kind: 'grant' }];
  for (const id of ['b:1', 'b:2', 'b:3']) s.heard(grantNote(id), at(WALL), e);
  t.equal(e.inputs.length, 3);
  s.heard(grantNote('b:1'), at(WALL), e);
  t.equal(e.inputs.length, 4, 'the oldest was forgotten');
  s.heard(grantNote('b:3'), at(WALL), e);
  t.equal(e.inputs.length, 4, 'a recent one is remembered');
});

t.test('refusals are counted by reason; the line quotes the totals', async (t) => {
  const s = new FleetSession('a', BOOT);
  t.equal(s.refuse('bad seal')(), 'fleet: note refused: bad seal (1 refused so far: 1 bad seal)');
  const second = s.refuse('stale');
  s.refuse('bad seal');
  t.equal(second(), 'fleet: note refused: stale (3 refused so far: 2 bad seal, 1 stale)', 'the text is made when logged');
  const r = newResync();
  s.skip('not ours', r);
  s.skip('not ours', r);
  s.skip('stale', r);
  t.same([...r.skipped], [['not ours', 2], ['stale', 1]]);
  t.same([...s.refusals], [['bad seal', 2], ['stale', 2], ['not ours', 2]], 'stored values count in the totals too');
});

t.test('claims: the plan of a digest and of a one-time sequence', async (t) => {
  const s = new FleetSession('a', BOOT);
  t.same(s.claimPlan({ type: 'replay', digest: 'D'.repeat(43), ttlMs: 120_000 }),
    { secret: 'D'.repeat(43), ttlMs: 120_000, what: 'SPA digest' });
  const sequence = [{ protocol: 'tcp' as const, port: 1000 }, { protocol: 'udp' as const, port: 2000 }];
  t.same(s.claimPlan({ type: 'onetime', door: 'ssh', sequence }), {
    secret: 'tcp/1000,udp/2000', ttlMs: ONETIME_CLAIM_MS, what: 'one-time sequence of ssh', door: 'ssh',
    announce: { type: 'onetime', node: 'a', door: 'ssh', sequence },
  });
  t.equal(ONETIME_CLAIM_MS, 90 * 24 * 3600 * 1000);
});

t.test('claims: made alone they are kept; a spent sequence is announced unless another node had it', async (t) => {
  const s = new FleetSession('a', BOOT);
  const c = pendingClaim('k1', true);
  t.same(s.claimed(c, 'won'), [c.announce]);
  t.same(s.claimed(c, 'lost'), [], 'lost: nothing to announce');
  t.same(s.claimed(c, 'down'), [c.announce], 'decided alone: announced too (the listening nodes move on now)');
  t.same(s.claimed(pendingClaim('k2'), 'down'), [], 'a digest: no note');
  t.same(s.pending.counts, { claims: 2, shares: 0 }, 'only the two made alone');
});

t.test('catch-up: the same sealed values are claimed again; won, lost and down counted', async (t) => {
  const s = new FleetSession('a', BOOT);
  const cs = ['k1', 'k2', 'k3'].map((k) => pendingClaim(k));
  for (const c of cs) s.claimed(c, 'down');
  t.ok(s.pending.any);
  const taken = s.pending.take();
  t.equal(taken.claims[0], cs[0], 'the very claim, its sealed value with it');
  t.same(taken.claims.map((c) => c.value), ['sealed-k1', 'sealed-k2', 'sealed-k3']);
  t.notOk(s.pending.any, 'handed out');
  const tally = newTally();
  t.equal(s.pending.claimed(cs[0]!, 'won', tally), undefined);
  t.equal(s.pending.claimed(cs[1]!, 'lost', tally),
    'fleet: a SPA digest accepted here while Redis was unreachable was also accepted by another node');
  t.equal(s.pending.claimed(cs[2]!, 'down', tally), undefined);
  t.same(tally, { made: 1, lost: 1, shared: 0 });
  t.same(s.pending.take().claims, [cs[2]], 'still down: kept for the next try');
});

t.test('catch-up: shares restamped to now with the whole seconds left; under a second they go', async (t) => {
  const s = new FleetSession('a', BOOT);
  const g = s.share(share, at(WALL, 2000)); // at WALL + 2000, 60 s
  t.equal(g.at, WALL + 2000, 'fleet time');
  s.pending.share(g);
  s.pending.share({ ...g, id: 'a:x:1', timeout: 10 });
  const { shares } = s.pending.take();
  const now = at(WALL + 9400, 2000); // 9.4 s later on the fleet's clock
  t.same(s.pending.restamp(shares, now), [{ ...g, at: WALL + 11_400, timeout: 50 }], '50.6 s left: 50; 0.6 s left: dropped');
  t.same(s.pending.restamp([{ ...g, timeout: 10 }], at(WALL + 11_000)), [{ ...g, at: WALL + 11_000, timeout: 1 }], 'one second');
  t.same(s.pending.restamp([{ ...g, timeout: 10 }], at(WALL + 11_001)), [], 'just under');
  const tally = newTally();
  const [r] = s.pending.restamp(shares, now);
  s.pending.shared(r!, true, tally);
  s.pending.shared(r!, false, tally);
  t.same(tally, { made: 0, lost: 0, shared: 1 });
  t.same(s.pending.take().shares, [r], 'not published: restamped, kept for the next try');
});

t.test('pending claims and shares are bounded; the dropped are counted until the resync line', async (t) => {
  const s = new FleetSession('a', BOOT, { pending: 3 });
  for (let i = 0; i < 5; i++) s.claimed(pendingClaim(`k${i}`), 'down');
  for (let i = 0; i < 4; i++) s.pending.share(grantNote(`a:${i}`, 'a'));
  t.same(s.pending.counts, { claims: 3, shares: 3 });
  const taken = s.pending.take();
  t.same(taken.claims.map((c) => c.key), ['k2', 'k3', 'k4'], 'the oldest dropped');
  t.same(taken.shares.map((g) => g.id), ['a:1', 'a:2', 'a:3']);
  t.equal(s.pending.takeDropped(), 3);
  t.equal(s.pending.takeDropped(), 0, 'counted once');

  t.equal(MAX_PENDING, 10_000);
  const big = new FleetSession('a', BOOT);
  for (let i = 0; i <= MAX_PENDING; i++) big.pending.share(grantNote(`a:${i}`, 'a'));
  t.same(big.pending.counts, { claims: 0, shares: MAX_PENDING });
  t.equal(big.pending.takeDropped(), 1);
});

t.test('the retry line: quiet unless something was caught up', async (t) => {
  t.equal(retryLine({ made: 0, lost: 0, shared: 0 }), undefined);
  t.equal(retryLine({ made: 1, lost: 0, shared: 1 }), 'fleet: 1 claim made after the fact, 1 grant shared');
  t.equal(retryLine({ made: 0, lost: 2, shared: 0 }), 'fleet: 0 claims made after the fact, 0 grants shared', 'lost ones count');
  t.equal(retryLine({ made: 3, lost: 0, shared: 2 }), 'fleet: 3 claims made after the fact, 2 grants shared');
});

t.test('the resync lines, as the e2e tests and operators read them', async (t) => {
  type How = 'connected' | 'answers' | 'channel';
  const facts = (how: How, loaded = 0, made = 0, shared = 0, dropped = 0, skipped: [string, number][] = []) =>
    ({ how, label: '127.0.0.1:6379', fleet: 'prod', node: 'a', resync: { loaded, skipped: new Map(skipped) },
      tally: { made, lost: 0, shared }, dropped });
  t.equal(resyncLine(facts('connected')),
    'fleet: joined prod as node a (Redis 127.0.0.1:6379); 0 live grants loaded, 0 shared, 0 claims made after the fact');
  t.equal(resyncLine(facts('connected', 1, 1, 1)),
    'fleet: joined prod as node a (Redis 127.0.0.1:6379); 1 live grant loaded, 1 shared, 1 claim made after the fact');
  t.equal(resyncLine(facts('answers', 2, 3, 4, 5)),
    'fleet: Redis at 127.0.0.1:6379 answers again; 2 live grants loaded, 4 shared, 3 claims made after the fact; ' +
    '5 older ones were not kept');
  t.equal(resyncLine(facts('answers', 0, 0, 0, 0, [['bad seal', 1]])),
    'fleet: Redis at 127.0.0.1:6379 answers again; 0 live grants loaded (1 stored value refused: 1 bad seal), 0 shared, ' +
    '0 claims made after the fact');
  t.equal(resyncLine(facts('connected', 1, 0, 0, 0, [['bad seal', 2], ['stale', 1]])),
    'fleet: joined prod as node a (Redis 127.0.0.1:6379); 1 live grant loaded (3 stored values refused: 2 bad seal, 1 stale), ' +
    '0 shared, 0 claims made after the fact');
  t.equal(resyncLine(facts('channel')), undefined, 'the channel back with nothing caught up: quiet');
  t.equal(resyncLine(facts('channel', 0, 0, 0, 7, [['stale', 1]])), undefined, '... dropped and refused ones alone do not speak');
  t.equal(resyncLine(facts('channel', 0, 0, 1)), 'fleet: listening again; 0 live grants loaded, 1 shared, 0 claims made after the fact');
});
