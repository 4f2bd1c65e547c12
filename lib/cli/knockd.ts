// Process entry for bin/knockd.
import { main } from './knockd-main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Whatever still holds the loop open (a stuck child pipe) must not keep a stopped daemon alive.
setTimeout(() => process.exit(code), 2000).unref();
