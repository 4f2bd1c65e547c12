// `knockd --check` output: every option and door as Sesame understood it, defaults filled in,
// one `key: value` per line so people and tests can read it back.

import { formatNetwork } from './cidr.js';
import { formatSequence } from './sequence.js';
import { formatTcpFlags } from './tcpflags.js';
import { DEFAULTS, type Config, type Door, type TotpDoor } from './types.js';
import { pairRanges } from '../totp/ports.js';
import { formatProtoPort } from '../net/protocol.js';
import { formatIpv4Network } from '../net/ipv4.js';

const NONE = '(none)';

function show(v: string | undefined): string {
  return v === undefined ? NONE : `"${v}"`;
}

export function describeDoor(d: Door): string[] {
  const lines = [
    `door '${d.name}' (line ${d.line}):`,
    `  sequence: ${d.sequence.length ? formatSequence(d.sequence) : NONE}`,
    `  seq_timeout: ${d.seqTimeout}`,
    `  tcpflags: ${formatTcpFlags(d.tcpFlags) || NONE}`,
    `  start_command: ${show(d.startCommand)}`,
    `  start_command_6: ${show(d.startCommand6)}`,
    `  cmd_timeout: ${d.cmdTimeout}`,
    `  stop_command: ${show(d.stopCommand)}`,
    `  stop_command_6: ${show(d.stopCommand6)}`,
    `  target: ${d.target ?? NONE}`,
  ];
  if (d.open) lines.push(`  open: ${d.open.map((p) => formatProtoPort(p)).join(', ')} (nftables grants)`);
  if (d.oneTime) lines.push(`  one_time_sequences: ${d.oneTime.path} (line ${d.oneTime.line})`);
  if (d.spa) {
    const s = d.spa;
    // Key material is never printed: only its size.
    lines.push(
      `  spa_port: udp/${s.port}`,
      `  spa_key: ${s.key ? `${s.key.length} bytes, mode ${s.mode}` : NONE}`,
      `  spa_hmac: ${s.hmacKey ? `${s.hmacDigest}, ${s.hmacKey.length}-byte key` : NONE}`,
      `  spa_open_ports: ${s.openPorts.length ? s.openPorts.map((p) => formatProtoPort(p)).join(', ') : NONE}`,
      `  spa_max_age: ${s.maxAge}`,
      `  spa_max_timeout: ${s.maxTimeout}`,
      `  spa_require_source_address: ${s.requireSource ? 'yes' : 'no'}`,
    );
    if (s.gpg) {
      const g = s.gpg;
      // The passphrase never: only whether there is one.
      lines.push(
        `  spa_gpg_home_dir: ${g.homeDir}`,
        `  spa_gpg_decrypt_id: ${g.decryptId ?? NONE}`,
        `  spa_gpg_decrypt_pw: ${g.passphrase !== undefined ? '(set)' : 'none (SPA_GPG_Allow_No_Pw)'}`,
        `  spa_gpg_remote_id: ${g.remoteIds.length ? g.remoteIds.map((i) => `${i.text} (${i.kind})`).join(', ') : NONE}`,
        `  spa_gpg_require_sig: ${g.requireSig ? 'yes' : 'no'}`,
      );
    }
    if (s.commands) {
      const c = s.commands;
      lines.push(
        `  spa_command_allow_file: ${c.path} (${c.allowed.length} command${c.allowed.length === 1 ? '' : 's'})`,
        ...c.allowed.map((t) => `    ${t.words.join(' ')} (line ${t.line})`),
        `  spa_command_user: ${c.user ?? 'root (default)'}`,
      );
    }
    if (s.nat) {
      const n = s.nat;
      lines.push(
        `  spa_forward: ${n.forward.length
          ? n.forward.map((f) => `${formatIpv4Network(f.network)} ${formatProtoPort(f)}`).join(', ')
          : NONE}`,
        `  spa_local_nat: ${n.local.length ? n.local.map((p) => formatProtoPort(p)).join(', ') : NONE}`,
        `  spa_force_nat: ${n.force ? `${n.force.address} ${formatProtoPort(n.force)}` : NONE}`,
        `  spa_snat: ${n.snat ?? NONE}`,
      );
    }
  }
  if (d.totp) lines.push(...describeTotp(d.totp, d.sequence.length > 0));
  if (d.bans) {
    const b = d.bans;
    lines.push(
      `  max_failures: ${b.maxFailures} (${b.byDefault ? 'a TOTP door\'s default' : `line ${b.line}`})`,
      `  failure_window: ${b.failureWindow}`,
      `  ban_time: ${b.banTime}`,
    );
  }
  if (d.sharedKnocks !== undefined) lines.push(`  fleet_shared_knocks: yes (line ${d.sharedKnocks})`);
  return lines;
}

/** A TOTP door: its keys, and the port range each pair of digits is knocked in; the secret file by path only. */
export function describeTotp(t: TotpDoor, afterSequence: boolean): string[] {
  const ranges = pairRanges(t.portBase, t.digits, t.protocol).map((r) => `${r.protocol}/${r.first}-${r.last}`);
  const earlier = t.window === 0 ? 'the current 30 s step only' : `and the ${t.window} earlier 30 s step${t.window === 1 ? '' : 's'}`;
  return [
    `  totp_secret_file: ${t.path}`,
    `  totp_digits: ${t.digits}`,
    `  totp_port_base: ${t.portBase} (line ${t.line})`,
    `  totp_window: ${t.window} (${earlier})`,
    `  totp_protocol: ${t.protocol}`,
    `  totp_ports: ${ranges.join(', ')}${afterSequence ? ' (after the sequence)' : ''}`,
  ];
}

export function describeConfig(c: Config): string {
  const o = c.options;
  const lines = [
    `config: ${c.path}: ok`,
    'options:',
    `  usesyslog: ${o.useSyslog ? 'yes' : 'no'}`,
    `  logfile: ${o.logFile ?? NONE}`,
    `  pidfile: ${o.pidFile ?? `${DEFAULTS.pidFile} (default)`}`,
    `  interface: ${o.interfaces ? o.interfaces.join(',') : `${DEFAULTS.interface} (default)`}`,
    `  matching: ${o.matching ?? 'auto (default)'}`,
    `  capture_buffer: ${o.captureBuffer ? `${o.captureBuffer / 1048576} MiB` : `${DEFAULTS.captureBuffer / 1048576} MiB (default)`}`,
  ];
  if (o.fleet) {
    const f = o.fleet;
    // Secret files by path, never what they hold.
    lines.push(
      `  fleet_redis: ${f.redis} (line ${f.line})`,
      `  fleet_key_file: ${f.keyFile}`,
      `  fleet_password_file: ${f.passwordFile ?? NONE}`,
      ...(f.sentinelPasswordFile ? [`  fleet_sentinel_password_file: ${f.sentinelPasswordFile}`] : []),
      `  fleet_name: ${f.name}`,
      `  fleet_node: ${f.node ?? '(the host name)'}`,
    );
  }
  if (o.spaTransport) {
    const t = o.spaTransport;
    lines.push(
      `  spa_http_port: ${t.httpPort ?? NONE}${t.httpPort !== undefined ? ' (sniffed)' : ''}`,
      `  spa_http_any_user_agent: ${t.anyUserAgent ? 'yes' : 'no'}`,
      `  spa_http_trusted_proxies: ${t.trustedProxies.length ? t.trustedProxies.map(formatNetwork).join(', ') : NONE}`,
      `  spa_tcp_port: ${t.tcpPort ?? NONE}${t.tcpPort !== undefined ? ' (Sesame listens)' : ''}`,
    );
  }
  if (o.metricsListen) {
    const { host, port } = o.metricsListen;
    lines.push(`  metrics_listen: ${host.includes(':') ? `[${host}]` : host}:${port} (GET /metrics)`);
  }
  if (o.events) {
    const { webhook, command } = o.events;
    // The secret file by path, never what it holds.
    if (webhook) {
      // Many services carry a token in the path: only the scheme, host and port are printed.
      const u = new URL(webhook.url);
      const shown = `${u.origin}${u.pathname === '/' && !u.search ? '/' : '/...'}`;
      lines.push(`  event_webhook: ${shown}`, `  event_webhook_secret_file: ${webhook.secretFile ?? `${NONE} (unsigned)`}`);
    }
    if (command) lines.push(`  event_command: ${command}`);
  }
  for (const d of c.doors) lines.push(...describeDoor(d));
  return lines.join('\n') + '\n';
}
