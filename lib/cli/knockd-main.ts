// Entry point of the knockd launcher.

import { EXIT, exitStatusFor } from '../errors/exit.js';
import { readFileSync } from 'node:fs';
import { parseKnockdArgs } from './knockd-args.js';
import { KNOCKD_USAGE, KNOCKD_VERSION_TEXT } from './knockd-usage.js';
import { loadConfig } from '../config/parser.js';
import { describeConfig } from '../config/describe.js';
import { runDaemon } from '../daemon/run.js';
import { releaseSignals } from '../daemon/early-signals.js';
import { flushGrants, showGrants } from './knockd-firewall.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}


export async function main(argv: readonly string[]): Promise<number> {
  const r = parseKnockdArgs(argv);
  // Only the daemon acts on held signals; every other mode lets them go.
  if (r.kind !== 'run' || r.args.status || r.args.flush || r.args.check || r.args.provision !== undefined) releaseSignals();
  switch (r.kind) {
    case 'help':
      process.stdout.write(KNOCKD_USAGE);
      return EXIT.ok;
    case 'version':
      process.stdout.write(KNOCKD_VERSION_TEXT(packageVersion()));
      return EXIT.ok;
    case 'bad':
      // knockd (getopt) prints the complaint and the usage, and exits 0.
      process.stderr.write(`${r.message}\n`);
      process.stdout.write(KNOCKD_USAGE);
      return EXIT.badOption;
  }
  const args = r.args;
  if (args.status) return showGrants(args.instance, args.config, args.stateDir);
  if (args.flush) return flushGrants(args.instance);
  if (args.provision !== undefined) {
    const { provision } = await import('./knockd-provision.js');
    return provision(args.config, args.provision, args.newSecret, process.stdout, process.stderr);
  }
  if (args.check) {
    let config;
    try {
      config = loadConfig(args.config);
    } catch (err) {
      const failed = exitStatusFor(err);
      if (!failed) throw err;
      process.stderr.write(`${failed.lines.join('\n')}\n`);
      return failed.status;
    }
    for (const w of config.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(describeConfig(config));
    return EXIT.ok;
  }
  return runDaemon(args, argv);
}
