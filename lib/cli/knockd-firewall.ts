// `knockd --status` and `knockd --flush`: read or remove Sesame's nftables table directly from the
// kernel, whether or not a daemon runs.

import { openBackend } from '../firewall/backend.js';
import { GrantTable } from '../firewall/grants.js';
import { TABLE } from '../daemon/door-firewall.js';
import { runningDaemons } from './running-daemons.js';

function fail(err: unknown): number {
  process.stderr.write(`knockd: ${(err as Error).message.split('\n')[0]}\n`);
  return 1;
}

export async function showGrants(): Promise<number> {
  try {
    const grants = await new GrantTable(await openBackend(), TABLE).list();
    if (grants.length === 0) {
      process.stdout.write('no live grants\n');
      return 0;
    }
    grants.sort((a, b) => (a.expires ?? 0) - (b.expires ?? 0));
    for (const g of grants) {
      process.stdout.write(`${g.address} ${g.proto}/${g.port} expires in ${g.expires ?? '?'}s (of ${g.timeout}s)\n`);
    }
    return 0;
  } catch (err) {
    return fail(err);
  }
}

export async function flushGrants(): Promise<number> {
  const daemons = runningDaemons();
  if (daemons.length > 0) {
    process.stderr.write(`knockd: --flush refused: knockd is running (pid ${daemons.join(', ')}) and would restore ` +
      `table inet ${TABLE} within a second; stop it first\n`);
    return 1;
  }
  try {
    await new GrantTable(await openBackend(), TABLE).flush();
    process.stdout.write(`removed table inet ${TABLE}: no port is guarded or granted by Sesame now\n`);
    return 0;
  } catch (err) {
    return fail(err);
  }
}
