// The Grafana dashboard and the Prometheus alert rules (packaging/, issue 26), checked against the
// metrics Sesame exports (lib/metrics/names.ts): promtool checks the rules' syntax and runs their
// unit tests (each alert fires on its series and stays quiet on a near miss), and checks the
// example scrape config; every metric a panel or a rule names exists, with the labels it groups by,
// counters through rate()/increase() and gauges raw; the dashboard's ids, variables and per-bastion
// row. promtool comes from scripts/setup (Debian's prometheus): without it this test fails.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRICS, METRIC_NAMES } from '../../lib/metrics/names.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROM = join(ROOT, 'packaging/prometheus');
const RULES = join(PROM, 'sesame-alerts.yml');
const RULES_TEST = join(PROM, 'sesame-alerts.test.yml');
const EXAMPLE = join(PROM, 'prometheus.yml.example');
const DASHBOARD = join(ROOT, 'packaging/grafana/sesame.json');
/** Where the package installs the rules (the example's rule_files names it). */
const INSTALLED_RULES = '/usr/share/sesame/prometheus/sesame-alerts.yml';

interface Known { readonly type: 'counter' | 'gauge'; readonly labels: readonly string[] }
/** prom-client's default process metrics the dashboard uses (no labels of their own). */
const PROCESS: Readonly<Record<string, Known>> = {
  process_cpu_seconds_total: { type: 'counter', labels: [] },
  process_resident_memory_bytes: { type: 'gauge', labels: [] },
  process_start_time_seconds: { type: 'gauge', labels: [] },
  process_open_fds: { type: 'gauge', labels: [] },
};
const KNOWN = new Map<string, Known>([
  ...Object.values(METRICS).map((m): [string, Known] => [m.name, { type: m.type, labels: m.labels }]),
  ...Object.entries(PROCESS),
]);
/** Labels every series has from the scrape, whatever the metric. */
const TARGET_LABELS = ['instance', 'job'];
const ALERTS = [
  'SesameDown', 'SesameGrantStorm', 'SesameFirewallRepaired', 'SesameCaptureDrops',
  'SesameFleetRedisDown', 'SesameEventsDropped', 'SesameSpaRefusalFlood',
];

function promtool(args: readonly string[], cwd = ROOT): { status: number | null; out: string; error: Error | undefined } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

const metricsIn = (expr: string): string[] => [...expr.matchAll(/\b(?:sesame|process)_[a-z_]+/g)].map((m) => m[0]);

/**
 * What is wrong with one PromQL expression: unknown metrics, `by (...)` labels a metric does not
 * have, selector labels it does not have, a counter read raw, a gauge through rate().
 */
function exprProblems(expr: string, where: string): string[] {
  const problems: string[] = [];
  const names = metricsIn(expr);
  for (const n of names) if (!KNOWN.has(n)) problems.push(`${where}: unknown metric ${n} in ${expr}`);
  const known = names.flatMap((n) => KNOWN.get(n) ?? []);
  for (const m of expr.matchAll(/\b(by|without)\s*\(([^)]*)\)/g)) {
    if (m[1] === 'without') problems.push(`${where}: without (...) in ${expr}`);
    for (const label of (m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      if (label !== 'instance' && !known.every((k) => k.labels.includes(label))) problems.push(`${where}: by (${label}) in ${expr}`);
    }
  }
  for (const m of expr.matchAll(/\b((?:sesame|process)_[a-z_]+)\s*\{([^}]*)\}/g)) {
    const k = KNOWN.get(m[1] ?? '');
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
      const label = l[1] ?? '';
      if (k && !TARGET_LABELS.includes(label) && !k.labels.includes(label)) problems.push(`${where}: {${label}} on ${m[1]} in ${expr}`);
    }
  }
  for (const m of expr.matchAll(/\b(?:sesame|process)_[a-z_]+/g)) {
    const k = KNOWN.get(m[0]);
    if (!k) continue;
    const rated = /\b(?:rate|irate|increase)\(\s*$/.test(expr.slice(0, m.index));
    if (k.type === 'counter' && !rated) problems.push(`${where}: counter ${m[0]} without rate()/increase() in ${expr}`);
    if (k.type === 'gauge' && rated) problems.push(`${where}: gauge ${m[0]} through rate()/increase() in ${expr}`);
  }
  return problems;
}

t.test('exprProblems catches what it is for', async (t) => {
  t.same(exprProblems('sum by (door, kind) (rate(sesame_grants_total{instance=~"$i"}[5m]))', 'x'), []);
  t.same(exprProblems('sum by (instance) (sesame_active_grants)', 'x'), []);
  t.equal(exprProblems('sesame_grant_total', 'x').length > 0, true, 'unknown name');
  t.equal(exprProblems('sum by (address) (rate(sesame_grants_total[5m]))', 'x').length, 1, 'label the metric lacks');
  t.equal(exprProblems('rate(sesame_grants_total{reason="hmac"}[5m])', 'x').length, 1, 'selector label the metric lacks');
  t.equal(exprProblems('sesame_grants_total', 'x').length, 1, 'raw counter');
  t.equal(exprProblems('rate(sesame_bans_active[5m])', 'x').length, 1, 'rated gauge');
  t.equal(exprProblems('sum without (door) (rate(sesame_grants_total[5m]))', 'x').length, 1, 'without');
});

t.test('promtool: the rules pass check rules and their unit tests', async (t) => {
  const check = promtool(['check', 'rules', RULES]);
  t.notOk(check.error, `promtool runs (scripts/setup installs Debian's prometheus): ${check.error?.message ?? ''}`);
  t.equal(check.status, 0, check.out);
  t.match(check.out, `SUCCESS: ${ALERTS.length} rules found`);
  const unit = promtool(['test', 'rules', RULES_TEST]);
  t.notOk(unit.error);
  t.equal(unit.status, 0, unit.out);
  t.match(unit.out, /SUCCESS/);
  t.notMatch(unit.out, /FAILED/);
});

t.test('promtool: the example scrape config is valid and loads the rules', async (t) => {
  const text = readFileSync(EXAMPLE, 'utf8');
  t.ok(text.includes(`- ${INSTALLED_RULES}`), `rule_files names ${INSTALLED_RULES}`);
  t.match(text, /job_name: sesame\n/, 'a job SesameDown watches');
  t.equal([...text.matchAll(/^\s+- [\w.-]+:9464\b/gm)].length, 2, 'two bastions');
  const dir = mkdtempSync(join(tmpdir(), 'sesame-prom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, text.replace(INSTALLED_RULES, RULES));
  const r = promtool(['check', 'config', config], dir);
  t.notOk(r.error);
  t.equal(r.status, 0, r.out);
  t.match(r.out, `SUCCESS: ${ALERTS.length} rules found`);
});

interface Alert { readonly name: string; readonly block: string; readonly expr: string }
function alerts(text: string): Alert[] {
  return text.split(/\n\s*- alert: /).slice(1).map((block) => ({
    name: /^\w+/.exec(block)?.[0] ?? '',
    block,
    expr: /\n\s+expr: (.+)/.exec(block)?.[1] ?? '',
  }));
}

t.test('alert rules: names, severities, annotations and expressions', async (t) => {
  const text = readFileSync(RULES, 'utf8');
  t.match(text, /^groups:\n {2}- name: sesame\n/m, 'group sesame');
  const list = alerts(text);
  t.same(list.map((a) => a.name).sort(), [...ALERTS].sort());
  t.equal([...text.matchAll(/\bexpr:/g)].length, ALERTS.length, 'one single-line expr per alert');
  const problems: string[] = [];
  for (const a of list) {
    t.not(a.expr, '', `${a.name}: expr`);
    t.match(a.block, /\n\s+severity: (critical|warning|info)\n/, `${a.name}: severity`);
    t.match(a.block, /\n\s+summary: .*\{\{ \$labels\.instance \}\}/, `${a.name}: summary names the instance`);
    t.match(a.block, /\n\s+description: [\s\S]*\{\{ \$labels\.instance \}\}/, `${a.name}: description names the instance`);
    problems.push(...exprProblems(a.expr, a.name));
    if (a.name !== 'SesameDown') t.ok(metricsIn(a.expr).length > 0, `${a.name} reads a Sesame metric`);
  }
  t.same(problems, []);
  const severity = (n: string) => /\n\s+severity: (\w+)/.exec(list.find((a) => a.name === n)?.block ?? '')?.[1];
  t.equal(severity('SesameDown'), 'critical');
  t.equal(severity('SesameFleetRedisDown'), 'critical');
  t.equal(severity('SesameSpaRefusalFlood'), 'info');
  t.match(list.find((a) => a.name === 'SesameDown')?.expr ?? '', /^up\{job=~"sesame\.\*"\} == 0$/);
  t.match(list.find((a) => a.name === 'SesameGrantStorm')?.block ?? '', /To tune/, 'the storm says how to tune it');
});

t.test('alert unit tests: every alert fires somewhere and is held quiet somewhere', async (t) => {
  const text = readFileSync(RULES_TEST, 'utf8');
  t.match(text, /^rule_files:\n {2}- sesame-alerts\.yml\n/m);
  const fires = new Set([...text.matchAll(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:/g)].map((m) => m[1]));
  const quiet = new Set([...text.matchAll(/alertname: (\w+),?\s+exp_alerts: \[\]/g)].map((m) => m[1]));
  for (const a of ALERTS) {
    t.ok(fires.has(a), `${a} fires in a test`);
    t.ok(quiet.has(a), `${a} is expected quiet in a test`);
  }
  const quietGroup = text.slice(text.indexOf('- name: A quiet bastion fires nothing'));
  t.equal([...quietGroup.matchAll(/exp_alerts: \[\]/g)].length, ALERTS.length, 'the quiet bastion fires none of them');
});

interface Target { readonly expr?: string; readonly legendFormat?: string; readonly datasource?: { readonly uid?: string } }
interface Panel {
  readonly id: number; readonly type: string; readonly title: string; readonly repeat?: string; readonly collapsed?: boolean;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly targets?: readonly Target[]; readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name: string; readonly type: string; readonly query?: string | { readonly query?: string };
  readonly definition?: string; readonly multi?: boolean; readonly includeAll?: boolean; readonly repeat?: string;
}
interface Dashboard {
  readonly schemaVersion: number; readonly uid: string; readonly title: string;
  readonly panels: readonly Panel[]; readonly templating: { readonly list: readonly Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const flat = (ps: readonly Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
const allPanels = flat(dashboard.panels);
const exprs = (ps: readonly Panel[]): Array<{ panel: Panel; target: Target; expr: string }> =>
  ps.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target, expr: target.expr ?? '' })));

t.test('dashboard: variables, ids, layout, data source', async (t) => {
  t.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, `schemaVersion ${dashboard.schemaVersion}`);
  t.ok(dashboard.uid && dashboard.title, 'uid and title');
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  t.match(vars.get('datasource'), { type: 'datasource', query: 'prometheus' });
  const inst = vars.get('instance');
  t.match(inst, { type: 'query', multi: true, includeAll: true, definition: 'label_values(sesame_bans_active, instance)' });
  t.match(inst?.query, { query: 'label_values(sesame_bans_active, instance)' });
  const ids = allPanels.map((p) => p.id);
  t.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'integer ids');
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of allPanels) {
    t.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the grid`);
    if (p.type === 'row') continue;
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel data source is the variable`);
    t.ok((p.targets ?? []).length > 0, `${p.title}: has a query`);
    for (const tg of p.targets ?? []) t.equal(tg.datasource?.uid, '${datasource}', `${p.title}: target data source`);
  }
});

t.test('dashboard: one fleet row, then a row repeated per instance', async (t) => {
  const rows = dashboard.panels.filter((p) => p.type === 'row');
  const repeated = rows.filter((r) => r.repeat !== undefined);
  t.equal(repeated.length, 1, 'one repeated row');
  t.equal(repeated[0]?.repeat, 'instance', 'it repeats over instance');
  const at = dashboard.panels.indexOf(repeated[0] as Panel);
  t.ok(at > 0 && dashboard.panels[0]?.type === 'row', 'the fleet overview row comes first');
  // A row that is not collapsed owns the panels after it (until the next row); a collapsed one holds its own.
  const own = repeated[0]?.collapsed ? flat(repeated[0].panels ?? []) : dashboard.panels.slice(at + 1).filter((p) => p.type !== 'row');
  const fleet = dashboard.panels.slice(1, at);
  t.ok(own.length >= 10, `${own.length} panels per bastion`);
  const perBastion = new Set(exprs(own).flatMap((e) => metricsIn(e.expr)));
  const wanted = [...METRIC_NAMES.filter((n) => n !== METRICS.redisUp.name), 'process_cpu_seconds_total', 'process_resident_memory_bytes'];
  for (const n of wanted) t.ok(perBastion.has(n), `${n} in the per-bastion row`);
  const overview = exprs(fleet).map((e) => e.expr).join('\n');
  for (const n of [METRICS.grants.name, METRICS.spaRefused.name, METRICS.redisUp.name, METRICS.bansActive.name]) {
    t.ok(overview.includes(n), `${n} in the fleet overview`);
  }
  t.match(overview, /sum by \(kind\) \(rate\(sesame_grants_total/, 'fleet grants by kind, summed over instances');
});

t.test('dashboard: every expression names known metrics, with their labels, counters rated', async (t) => {
  const all = exprs(allPanels);
  t.ok(all.length > 20, `${all.length} queries`);
  const problems: string[] = [];
  const used = new Set<string>();
  for (const { panel, target, expr } of all) {
    for (const n of metricsIn(expr)) used.add(n);
    problems.push(...exprProblems(expr, panel.title));
    if (!expr.includes('instance=~"$instance"')) problems.push(`${panel.title}: not filtered by $instance: ${expr}`);
    const by = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()));
    const names = metricsIn(expr);
    for (const l of (target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
      const label = l[1] ?? '';
      const has = by.length > 0 ? by.includes(label)
        : TARGET_LABELS.includes(label) || names.every((n) => KNOWN.get(n)?.labels.includes(label));
      if (!has) problems.push(`${panel.title}: legend {{${label}}} not in the result of ${expr}`);
    }
  }
  t.same(problems, []);
  for (const n of METRIC_NAMES) t.ok(used.has(n), `${n} is on the dashboard`);
  for (const n of Object.keys(PROCESS)) t.ok(used.has(n), `${n} is on the dashboard`);
  t.same([...used].filter((n) => !KNOWN.has(n)), [], 'no other sesame_/process_ names');
});
