// The real fwknopd (Debian 2.6.10) in the foreground in a lab's server namespace, with its own
// config and access files and run directory; resolved once its main loop runs.

import { chmodSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sleep, waitFor, type Lab } from './lab.js';

const FWKNOPD = '/usr/sbin/fwknopd';

/**
 * fwknopd.conf (0600) sniffing UDP 62201 on the lab's server interface, its run files in `run`;
 * `extra` lines (e.g. `ENABLE_IPT_FORWARDING Y;`) go before them. Packet aging is on unless `noAging`.
 */
export function writeFwknopdConf(lab: Lab, run: string, extra: readonly string[] = [], o: { noAging?: boolean } = {}): string {
  const aging = o.noAging ? [] : ['ENABLE_SPA_PACKET_AGING Y;', 'MAX_SPA_PACKET_AGE 120;', 'ENABLE_DIGEST_PERSISTENCE Y;'];
  const conf = lab.file('fwknopd.conf', [`PCAP_INTF ${lab.sif};`, 'PCAP_FILTER udp port 62201;', ...aging, ...extra,
    `FWKNOP_RUN_DIR ${run};`, `DIGEST_FILE ${run}/digest.cache;`, `FWKNOP_PID_FILE ${run}/fwknopd.pid;`, ''].join('\n'));
  chmodSync(conf, 0o600);
  return conf;
}

export interface Fwknopd {
  readonly proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr, -v). */
  output(): string;
  /** SIGTERM; it may sit in its capture loop, so SIGKILL after 3 s. */
  stop(): Promise<void>;
}

export async function startFwknopd(lab: Lab, conf: string, access: string, run: string): Promise<Fwknopd> {
  spawnSync('mkdir', ['-p', run]);
  const proc = spawn('ip', ['netns', 'exec', lab.srv, FWKNOPD, '-f', '-v', '-c', conf, '-a', access,
    '-d', `${run}/digest.cache`, '-p', `${run}/fwknopd.pid`, '-i', lab.sif], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const fw: Fwknopd = {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      if (await Promise.race([gone.then(() => true), sleep(3000).then(() => false)])) return;
      proc.kill('SIGKILL');
      await Promise.race([gone, sleep(3000)]);
    },
  };
  const ok = await waitFor(() => out.includes('Starting fwknopd main event loop'), 10_000, () => proc.exitCode !== null);
  if (!ok) throw new Error(`fwknopd did not start:\n${out}`);
  await sleep(300); // pcap is open just before that line; give it a moment
  return fw;
}
