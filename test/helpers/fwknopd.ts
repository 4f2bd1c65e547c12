// The real fwknopd (Debian 2.6.10) in the foreground in a lab's server namespace, with its own
// config and access files and run directory; resolved once its main loop runs.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sleep, waitFor, type Lab } from './lab.js';

const FWKNOPD = '/usr/sbin/fwknopd';

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
