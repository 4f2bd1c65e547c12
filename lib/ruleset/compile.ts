// The ruleset compiler: doors → one nftables table that tracks knock sequences in the kernel, so a
// flood costs the daemon nothing per packet. Pure: text out, every value checked before it is
// written (firewall/validate.ts).
//
// Per door and family: a set `live` of sources with an attempt in progress (element timeout =
// Seq_Timeout, set once at the first knock: the timeout runs from the first knock), and a set per
// stage 2..N-1 (stage 1 = live and in no stage set, which halves what a flood of first knocks
// costs). Each of these sets has overflow tiers (spec.overflow: bigger, shorter timeouts): nft's
// `update @set` on a full set adds nothing and stops its rule, so the next rule tries the next
// tier. A flood that fills the sets only shortens how long new attempts last; membership tests
// look in every tier and deletes cover every tier (deleting an absent element is a no-op). A
// source is in at most one tier of a set: it starts only when in no live tier, and advances only
// into a stage it has never been in since its start cleared them. The chains follow the userspace
// matcher's rulings (docs/knockd-0.8.md §2.3):
//   knock      base chain (prerouting, before the admin's input chain): interfaces, TCP/UDP
//   visible    a packet no door's filter shows is ignored (jumps to `match` otherwise)
//   match      a source with an attempt for a door whose destination fits → `inflight` (nothing
//              new starts); else every door whose first step fits starts (several may)
//   inflight   each such door's own chain advances, completes or resets its attempt; a TCP packet
//              failing the door's flags is ignored for that door
// Events go to NFLOG with a prefix naming generation, door, kind and stage (events.ts). Stage and
// reset events pass a shared kernel rate limit; completions (OPEN SESAME) and SPA datagrams do not.

import type { KnockStep, TcpFlagRule } from '../config/types.js';
import { TCP_FLAG_BITS, TCP_FLAG_ORDER } from '../config/types.js';
import { checkAddress, checkName, checkPort, FirewallInputError } from '../firewall/validate.js';
import { flushBatch } from '../firewall/commands.js';
import { eventPrefix } from './events.js';
import { BAN_SET_SIZE, type BanElement, type KernelDoor, type RulesetSpec, type SetTier } from './spec.js';
import { MAX_GRANT_SECONDS } from '../config/types.js';

export const CHAINS = { base: 'knock', visible: 'visible', match: 'match', inflight: 'inflight', http: 'spa_http' } as const;
const LIMIT = 'events';
/** SPA datagram lengths worth a look (UDP length = 8 + payload; fwknopd: 140..1500 payload bytes). */
const SPA_UDP_LENGTH = '148-1508';
/** The transport payload starts "GET /": the letters masked to upper case, then " /". */
const HTTP_GET = '@ih,0,24 & 0xdfdfdf == 0x474554 @ih,24,16 0x202f';
/**
 * A later piece of a request: one that does not start "GET " (that one the first rule logs). The
 * first byte is read alone, so a piece of 1 or 2 bytes (the final CRLF) matches too; one that
 * starts with G or g needs 4 bytes.
 */
const NOT_HTTP_GET = ['@ih,0,8 & 0xdf != 0x47', '@ih,0,8 & 0xdf == 0x47 @ih,0,32 & 0xdfdfdfff != 0x47455420'];
/** Flows (source address and port) whose HTTP request is coming in pieces. */
const httpFlows = (f: Family) => `http_flows${f}`;
const HTTP_FLOWS_SIZE = 4096;

function httpFlowSets(spec: RulesetSpec): string[] {
  if (spec.spaHttpPort === undefined || spec.spaPorts.length === 0) return [];
  return spec.families.map((f) => `  set ${httpFlows(f)} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_service; ` +
    `flags dynamic,timeout; size ${HTTP_FLOWS_SIZE}; timeout 3s; }`);
}

type Family = 4 | 6;
const ip = (f: Family) => (f === 4 ? 'ip' : 'ip6');
const local = (f: Family) => `local${f}`;

/** Banned sources (Max_Failures): an IPv4 address each, an IPv6 /64 each (an interval set). */
const banSet = (f: Family) => `bans${f}`;

/** `10.0.0.1 timeout 3600s` or `fd77:1::/64 timeout 3600s`, checked. */
function banElement(b: BanElement): { family: Family; text: string } {
  const slash = b.src.indexOf('/');
  const a = checkAddress(slash === -1 ? b.src : b.src.slice(0, slash));
  if (slash !== -1 && (a.family !== 6 || b.src.slice(slash) !== '/64')) throw new FirewallInputError(`not a ban: ${JSON.stringify(b.src)}`);
  const ms = Math.min(MAX_GRANT_SECONDS * 1000, Math.max(1000, Math.ceil(checkCount(b.timeoutMs, 'ban timeout') / 1000) * 1000));
  return { family: a.family, text: `${a.text}${slash === -1 ? '' : '/64'} timeout ${nftTime(ms)}` };
}

function banSets(spec: RulesetSpec): string[] {
  if (!spec.bans) return [];
  checkCount(spec.bans.length + 1, 'ban count');
  const all = spec.bans.map(banElement);
  return ([4, 6] as const).map((f) => {
    const els = all.filter((b) => b.family === f).map((b) => b.text);
    return `  set ${banSet(f)} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags ${f === 4 ? '' : 'interval,'}timeout; ` +
      `size ${BAN_SET_SIZE};${els.length ? ` elements = { ${els.join(', ')} };` : ''} }`;
  });
}

/** Adds bans to a table compiled with ban sets (a ban made while it runs). */
export function banScript(spec: RulesetSpec, bans: readonly BanElement[]): string {
  const t = `inet ${checkName(spec.table)}`;
  if (!spec.bans) return '';
  return bans.map(banElement).map((b) => `add element ${t} ${banSet(b.family)} { ${b.text} }\n`).join('');
}

/** Names of one door's objects: the version makes a rotated door's objects new ones. */
export function doorBase(d: KernelDoor): string {
  return `d${d.index}v${d.version}`;
}
/** Tier 0 keeps the plain name; overflow tier t is `<name>_t<t>`. */
const tierName = (name: string, t: number) => (t === 0 ? name : `${name}_t${t}`);
const liveSet = (d: KernelDoor, f: Family, t = 0) => tierName(`${doorBase(d)}_live${f}`, t);
const stageSet = (d: KernelDoor, f: Family, k: number, t = 0) => tierName(`${doorBase(d)}_s${k}_${f}`, t);
const doneSet = (d: KernelDoor) => `${doorBase(d)}_done`;
const doorChain = (d: KernelDoor, f: Family) => `${doorBase(d)}_${f}`;

function checkInterface(name: string): string {
  // Linux interface names: up to 15 bytes, no '/', whitespace or quote.
  if (/^[A-Za-z0-9_.:@+-]{1,15}$/.test(name)) return name;
  throw new FirewallInputError(`not an interface name: ${JSON.stringify(name)}`);
}

/** nft takes a queue-threshold of 1..65535 (a u16). */
function checkQueue(n: number): number {
  if (Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  throw new FirewallInputError(`SPA queue threshold must be 1..65535: ${JSON.stringify(n)}`);
}

function checkCount(n: number, what: string): number {
  if (Number.isInteger(n) && n >= 1 && n <= 2 ** 31 - 1) return n;
  throw new FirewallInputError(`${what} must be a positive integer: ${JSON.stringify(n)}`);
}

/** The families a door matches in: its Target's, or every family the daemon listens to. */
export function doorFamilies(d: KernelDoor, families: readonly Family[]): Family[] {
  if (d.door.target === undefined) return [...families];
  const f = checkAddress(d.door.target).family;
  return families.includes(f) ? [f] : [];
}

/** Seq_Timeout in ms: at least 1 ms (0 or less: the attempt dies at once), at most a week. */
function seqMs(d: KernelDoor): number {
  return Math.min(MAX_GRANT_SECONDS * 1000, Math.max(1, Math.round(d.door.seqTimeout * 1000)));
}

/** Milliseconds as an nft timeout. */
function nftTime(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`; // nft refuses large ms numbers (604800000ms)
}

/** Most overflow tiers: each adds rules to every stage's path (and a lookup to a flood packet's). */
export const MAX_TIERS = 4;

/** The overflow tiers, checked. */
function overflowTiers(spec: RulesetSpec): readonly SetTier[] {
  const o = spec.overflow ?? [];
  if (o.length > MAX_TIERS) throw new FirewallInputError(`at most ${MAX_TIERS} overflow tiers: ${o.length}`);
  for (const x of o) {
    checkCount(x.size, 'overflow set size');
    checkCount(x.timeoutMs, 'overflow timeout');
  }
  return o;
}

interface Tier { readonly size: number; readonly timeout: string }

/** A door's tiers of every stage set: the spec's size and Seq_Timeout, then the overflow tiers (no longer than Seq_Timeout). */
function doorTiers(spec: RulesetSpec, d: KernelDoor): Tier[] {
  const seq = seqMs(d);
  return [{ size: checkCount(spec.setSize, 'set size'), timeout: nftTime(seq) },
    ...overflowTiers(spec).map((x) => ({ size: x.size, timeout: nftTime(Math.min(seq, x.timeoutMs)) }))];
}

function dstMatch(d: KernelDoor, f: Family): string {
  return d.door.target !== undefined ? `${ip(f)} daddr ${checkAddress(d.door.target).text}` : `${ip(f)} daddr @${local(f)}`;
}

function stepMatch(s: KnockStep): string {
  if (s.protocol !== 'tcp' && s.protocol !== 'udp') {
    throw new FirewallInputError(`protocol must be tcp or udp: ${JSON.stringify(s.protocol)}`);
  }
  return `${s.protocol} dport ${checkPort(s.port)}`;
}

function flagNames(bits: number): string {
  const names = TCP_FLAG_ORDER.filter((n) => bits & TCP_FLAG_BITS[n]).map((n) => n.toLowerCase());
  return names.length === 1 ? names[0]! : `(${names.join(' | ')})`;
}

/** `tcp flags & (syn | ack) == syn`; undefined when the door constrains no flag. */
export function flagsMatch(rule: TcpFlagRule): string | undefined {
  const mask = (rule.set | rule.clear) & 0x3f;
  if (mask === 0) return undefined;
  return `tcp flags & ${flagNames(mask)} == ${rule.set & 0x3f ? flagNames(rule.set & 0x3f) : '0x0'}`;
}

/** The door's flags rule for a TCP step (flags only constrain TCP). */
function stepWithFlags(d: KernelDoor, s: KnockStep): string {
  const flags = s.protocol === 'tcp' ? flagsMatch(d.door.tcpFlags) : undefined;
  return flags ? `${stepMatch(s)} ${flags}` : stepMatch(s);
}

// queue-threshold 1: the kernel's default batches NFLOG messages for up to a second.
function log(spec: RulesetSpec, prefix: string, queue = 1): string {
  return `log prefix "${prefix}" group ${spec.group} queue-threshold ${queue}`;
}

/** Counts every stage and reset event, then lets through what the limit allows: the daemon compares. */
export const EVENT_COUNTER = 'events_all';
/** Counts first knocks no tier had room for (every tier full). */
export const UNRECORDED_COUNTER = 'unrecorded';
/** Set deletes per rule: the kernel refuses a rule's expressions past 4 KiB (EFBIG; 40 deletes did, 32 did not). */
const CLEAR_PER_RULE = 16;
const limited = `counter name "${EVENT_COUNTER}" limit name "${LIMIT}"`;

function setDecl(name: string, f: Family, tier: Tier): string {
  return `  set ${name} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags dynamic,timeout; ` +
    `size ${tier.size}; timeout ${tier.timeout}; }`;
}

/** Deletes `src` from every tier of `sets(t)`: one statement each. */
function deleteAll(tiers: readonly Tier[], src: string, set: (t: number) => string): string[] {
  return tiers.map((_, t) => `delete @${set(t)} { ${src} }`);
}

/** The sets and chains of one door (multi-step doors only: a one-step door needs no state). */
export function doorObjects(spec: RulesetSpec, d: KernelDoor): string[] {
  const n = d.sequence.length;
  const out: string[] = [];
  const oneTime = d.door.oneTime !== undefined;
  if (oneTime) out.push(`  set ${doneSet(d)} { type inet_proto; flags dynamic; size 4; }`);
  if (n < 2) return out;
  const tiers = doorTiers(spec, d);
  for (const f of doorFamilies(d, spec.families)) {
    tiers.forEach((x, t) => out.push(setDecl(liveSet(d, f, t), f, x)));
    for (let k = 2; k < n; k++) tiers.forEach((x, t) => out.push(setDecl(stageSet(d, f, k, t), f, x)));
    out.push(`  chain ${doorChain(d, f)} {`, ...doorRules(spec, d, f).map((r) => `    ${r}`), '  }');
  }
  return out;
}

/**
 * A source at stage `k` (in tier `t` of its set; stage 1: live and in no stage set) knocked step
 * `k+1` right. The move to the next stage set tries its tiers in order (the new element first, so
 * a full tier leaves the source where it was for the next rule); if every tier is full the packet
 * falls through to the reset rules and the attempt ends.
 */
function advanceRules(spec: RulesetSpec, d: KernelDoor, f: Family, k: number, t: number, tiers: readonly Tier[]): string[] {
  const n = d.sequence.length;
  const src = `${ip(f)} saddr`;
  const inStage = k >= 2 ? `${src} @${stageSet(d, f, k, t)} ` : '';
  const match = `${inStage}${stepMatch(d.sequence[k]!)}`;
  const leave = k >= 2 ? `delete @${stageSet(d, f, k, t)} { ${src} } ` : '';
  const prefix = (kind: 's' | 'o', stage: number) => eventPrefix(spec.generation, d, kind, stage);
  if (k + 1 === n) {
    // Completion: never rate-limited. A used one-time door completes once until it is rotated.
    const once = d.door.oneTime !== undefined ? `meta l4proto != @${doneSet(d)} add @${doneSet(d)} { meta l4proto } ` : '';
    return [
      `${match} ${once}${log(spec, prefix('o', n))}`,
      `${match} ${leave}${deleteAll(tiers, src, (u) => liveSet(d, f, u)).join(' ')} return`,
    ];
  }
  return [
    `${match} ${limited} ${log(spec, prefix('s', k + 1))}`,
    ...tiers.map((x, u) => `${match} update @${stageSet(d, f, k + 1, u)} { ${src} timeout ${x.timeout} } ${leave}return`),
  ];
}

/** Any other visible packet from a source at stage `k` (tier `t`) ends its attempt. */
function resetRules(spec: RulesetSpec, d: KernelDoor, f: Family, k: number, t: number, tiers: readonly Tier[]): string[] {
  const src = `${ip(f)} saddr`;
  const inStage = k >= 2 ? `${src} @${stageSet(d, f, k, t)} ` : '';
  const leave = k >= 2 ? `delete @${stageSet(d, f, k, t)} { ${src} } ` : '';
  return [
    `${inStage}${limited} ${log(spec, eventPrefix(spec.generation, d, 'r', k))}`,
    `${inStage}${leave}${deleteAll(tiers, src, (u) => liveSet(d, f, u)).join(' ')} return`,
  ];
}

/** The chain a packet from a source with an attempt at this door runs through. */
export function doorRules(spec: RulesetSpec, d: KernelDoor, f: Family): string[] {
  const rules: string[] = [];
  const flags = flagsMatch(d.door.tcpFlags);
  // knockd: a TCP packet failing the attempt's door flags is ignored for it (not a reset).
  if (flags) rules.push(`meta l4proto tcp ${flags.replace('==', '!=')} return`);
  const tiers = doorTiers(spec, d);
  for (let k = d.sequence.length - 1; k >= 2; k--) {
    for (let t = 0; t < tiers.length; t++) rules.push(...advanceRules(spec, d, f, k, t, tiers), ...resetRules(spec, d, f, k, t, tiers));
  }
  rules.push(...advanceRules(spec, d, f, 1, 0, tiers), ...resetRules(spec, d, f, 1, 0, tiers));
  return rules;
}

/** The rules of the dispatch chains (visible, match, inflight), in config order. */
export function dispatchRules(spec: RulesetSpec): { visible: string[]; match: string[]; inflight: string[] } {
  const visible: string[] = [];
  const match: string[] = [];
  const inflight: string[] = [];
  const starts: string[] = [];
  // A banned source's knocks go no further: no attempt starts, none advances.
  if (spec.bans) visible.push(`ip saddr @${banSet(4)} return`, `ip6 saddr @${banSet(6)} return`);
  for (const d of spec.doors) {
    const n = d.sequence.length;
    if (n === 0) continue;
    for (const f of doorFamilies(d, spec.families)) {
      const dst = dstMatch(d, f);
      for (const proto of ['tcp', 'udp'] as const) {
        const ports = [...new Set(d.sequence.filter((s) => s.protocol === proto).map((s) => checkPort(s.port)))];
        if (ports.length === 0) continue;
        const flags = proto === 'tcp' ? flagsMatch(d.door.tcpFlags) : undefined;
        const set = ports.length === 1 ? `${ports[0]}` : `{ ${ports.join(', ')} }`;
        visible.push(`${dst} ${proto} dport ${set}${flags ? ` ${flags}` : ''} goto ${CHAINS.match}`);
      }
      const first = `${dst} ${stepWithFlags(d, d.sequence[0]!)}`;
      if (n === 1) {
        // A one-step door fires on every matching packet (knockd); a one-time one only once.
        const once = d.door.oneTime !== undefined ? ` meta l4proto != @${doneSet(d)} add @${doneSet(d)} { meta l4proto }` : '';
        starts.push(`${first}${once} ${log(spec, eventPrefix(spec.generation, d, 'o', 1))}`);
        continue;
      }
      const src = `${ip(f)} saddr`;
      const tiers = doorTiers(spec, d);
      // A source is in at most one live tier, so the door's chain runs once per packet.
      for (let t = 0; t < tiers.length; t++) {
        match.push(`${dst} ${src} @${liveSet(d, f, t)} goto ${CHAINS.inflight}`);
        inflight.push(`${dst} ${src} @${liveSet(d, f, t)} jump ${doorChain(d, f)}`);
      }
      // A source that gets here has no attempt at this door (the match rules above sent every
      // source with one to `inflight`): its stage elements are stale ones of an expired attempt,
      // cleared before it starts (in rules of at most CLEAR_PER_RULE deletes).
      const clear: string[] = [];
      for (let k = 2; k < n; k++) clear.push(...deleteAll(tiers, src, (t) => stageSet(d, f, k, t)));
      for (let i = 0; i < clear.length; i += CLEAR_PER_RULE) starts.push(`${first} ${clear.slice(i, i + CLEAR_PER_RULE).join(' ')}`);
      // The first tier with room takes the attempt; a later rule sees it there and does nothing.
      const guards: string[] = [];
      tiers.forEach((x, t) => {
        starts.push(`${first} ${guards.join('')}update @${liveSet(d, f, t)} { ${src} timeout ${x.timeout} } ` +
          `${limited} ${log(spec, eventPrefix(spec.generation, d, 's', 1))}`);
        guards.push(`${src} != @${liveSet(d, f, t)} `);
      });
      // In no tier after all of them: every tier was full (a flood past the physical limit). Counted: the daemon says so.
      starts.push(`${first} ${guards.join('')}counter name "${UNRECORDED_COUNTER}"`);
    }
  }
  return { visible, match: [...match, ...starts], inflight };
}

function baseRules(spec: RulesetSpec): string[] {
  const iif = interfaceMatch(spec);
  const rules: string[] = [];
  const spa = [...new Set(spec.spaPorts.map(checkPort))];
  if (spa.length > 0) {
    const ports = spa.length === 1 ? `${spa[0]}` : `{ ${spa.join(', ')} }`;
    const fam = spec.families.length === 1 ? `meta nfproto ipv${spec.families[0]} ` : '';
    const spaLog = log(spec, eventPrefix(spec.generation, undefined, 'spa', 0), checkQueue(spec.spaQueue ?? 1));
    rules.push(`${iif}${fam}udp dport ${ports} udp length ${SPA_UDP_LENGTH} ${spaLog}`);
  }
  if (spec.doors.some((d) => d.sequence.length > 0)) rules.push(`${iif}meta l4proto { tcp, udp } jump ${CHAINS.visible}`);
  return rules;
}

/**
 * SPA over HTTP, in its own chain after conntrack (priority -150): only segments of established
 * connections count, so a segment forged without a handshake, or outside the window (a header
 * injected into a proxy's request in progress), never reaches the daemon. Segments whose payload
 * starts "GET /" (the method in any case) go up, and the flow is remembered for 3 s so the rest
 * of a request sent in pieces goes up too (with PSH: no bare ACKs). The log comes before the
 * update, which stops its rule when the set is full.
 */
function httpRules(spec: RulesetSpec, iif: string): string[] {
  if (spec.spaHttpPort === undefined || spec.spaPorts.length === 0) return [];
  const port = checkPort(spec.spaHttpPort);
  const spaLog = log(spec, eventPrefix(spec.generation, undefined, 'spa', 0), checkQueue(spec.spaQueue ?? 1));
  const rules: string[] = [];
  for (const f of spec.families) {
    const flow = `${f === 4 ? 'ip' : 'ip6'} saddr . tcp sport`;
    const head = `${iif}meta nfproto ipv${f} tcp dport ${port} ct state established`;
    for (const notGet of NOT_HTTP_GET) rules.push(`${head} tcp flags & psh == psh ${flow} @${httpFlows(f)} ${notGet} ${spaLog}`);
    rules.push(`${head} ${HTTP_GET} ${spaLog} update @${httpFlows(f)} { ${flow} }`);
  }
  return rules;
}

function interfaceMatch(spec: RulesetSpec): string {
  const ifaces = spec.interfaces.includes('any') ? [] : [...new Set(spec.interfaces.map(checkInterface))];
  return ifaces.length === 0 ? ''
    : ifaces.length === 1 ? `iifname "${ifaces[0]}" `
    : `iifname { ${ifaces.map((i) => `"${i}"`).join(', ')} } `;
}

function addressElements(spec: RulesetSpec, f: Family): string[] {
  const out = new Set<string>();
  for (const a of spec.local) {
    const c = checkAddress(a);
    if (c.family === f && spec.families.includes(f)) out.add(c.text);
  }
  return [...out];
}

function localSets(spec: RulesetSpec): string[] {
  return ([4, 6] as const).map((f) => {
    const els = addressElements(spec, f);
    return `  set ${local(f)} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'};${els.length ? ` elements = { ${els.join(', ')} };` : ''} }`;
  });
}

function chainBlock(name: string, rules: readonly string[], hook?: string): string[] {
  return [`  chain ${name} {`, ...(hook ? [`    ${hook}`] : []), ...rules.map((r) => `    ${r}`), '  }'];
}

/**
 * The whole table, replacing any earlier one in the same transaction (`add` + `delete` first, so
 * it works whether or not the table exists): attempts in progress end, as with knockd's SIGHUP.
 */
export function installScript(spec: RulesetSpec): string {
  const t = `inet ${checkName(spec.table)}`;
  checkCount(spec.group, 'NFLOG group');
  if (spec.group > 65535) throw new FirewallInputError(`NFLOG group must be 0..65535: ${spec.group}`);
  checkCount(spec.setSize, 'set size');
  overflowTiers(spec);
  const d = dispatchRules(spec);
  const lines = [
    `add table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    `  limit ${LIMIT} { rate ${checkCount(spec.eventRate, 'event rate')}/second ` +
      `burst ${checkCount(spec.eventBurst, 'event burst')} packets }`,
    `  counter ${EVENT_COUNTER} { }`,
    `  counter ${UNRECORDED_COUNTER} { }`,
    ...localSets(spec),
    ...banSets(spec),
    ...httpFlowSets(spec),
    ...spec.doors.flatMap((door) => doorObjects(spec, door)),
    ...chainBlock(CHAINS.inflight, d.inflight),
    ...chainBlock(CHAINS.match, d.match),
    ...chainBlock(CHAINS.visible, d.visible),
    // Before the admin's filter chains (priority raw + 10, after defragmentation): a knock the
    // input chain drops is still seen.
    ...chainBlock(CHAINS.base, baseRules(spec), 'type filter hook prerouting priority raw + 10; policy accept;'),
    ...(spec.spaHttpPort !== undefined && spec.spaPorts.length > 0
      ? chainBlock(CHAINS.http, httpRules(spec, interfaceMatch(spec)), 'type filter hook prerouting priority -150; policy accept;')
      : []),
    '}',
  ];
  return lines.join('\n') + '\n';
}

/**
 * From `prev` to `next` without touching doors that did not change (a one-time door rotated, a
 * door ran out): their attempts in progress live on. The dispatch chains are rewritten; changed
 * doors get new objects and the old ones go, all in one transaction.
 */
export function updateScript(prev: RulesetSpec, next: RulesetSpec): string {
  const t = `inet ${checkName(next.table)}`;
  const key = (d: KernelDoor) => doorBase(d);
  const before = new Map(prev.doors.map((d) => [key(d), d]));
  const after = new Map(next.doors.map((d) => [key(d), d]));
  const d = dispatchRules(next);
  const lines: string[] = [
    `flush chain ${t} ${CHAINS.base}`,
    `flush chain ${t} ${CHAINS.visible}`,
    `flush chain ${t} ${CHAINS.match}`,
    `flush chain ${t} ${CHAINS.inflight}`,
  ];
  const added = next.doors.filter((x) => !before.has(key(x)));
  if (added.length > 0) lines.push(`table ${t} {`, ...added.flatMap((x) => doorObjects(next, x)), '}');
  for (const r of d.inflight) lines.push(`add rule ${t} ${CHAINS.inflight} ${r}`);
  for (const r of d.match) lines.push(`add rule ${t} ${CHAINS.match} ${r}`);
  for (const r of d.visible) lines.push(`add rule ${t} ${CHAINS.visible} ${r}`);
  for (const r of baseRules(next)) lines.push(`add rule ${t} ${CHAINS.base} ${r}`);
  for (const old of prev.doors) {
    if (after.has(key(old))) continue;
    for (const f of doorFamilies(old, prev.families)) {
      if (old.sequence.length < 2) continue;
      lines.push(`delete chain ${t} ${doorChain(old, f)}`);
      for (let u = 0; u < doorTiers(prev, old).length; u++) {
        lines.push(`delete set ${t} ${liveSet(old, f, u)}`);
        for (let k = 2; k < old.sequence.length; k++) lines.push(`delete set ${t} ${stageSet(old, f, k, u)}`);
      }
    }
    if (old.door.oneTime !== undefined) lines.push(`delete set ${t} ${doneSet(old)}`);
  }
  return lines.join('\n') + '\n';
}

/** The local address sets, replaced (addresses came or went). */
export function addressScript(spec: RulesetSpec): string {
  const t = `inet ${checkName(spec.table)}`;
  const lines: string[] = [];
  for (const f of [4, 6] as const) {
    lines.push(`flush set ${t} ${local(f)}`);
    const els = addressElements(spec, f);
    if (els.length) lines.push(`add element ${t} ${local(f)} { ${els.join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

/** What `knockd --flush` and a stop in kernel mode run: the table goes (the grant table's own batch). */
export const removeScript = flushBatch;
