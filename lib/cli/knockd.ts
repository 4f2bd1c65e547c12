// Process entry for bin/knockd.
import { main } from './knockd-main.js';

process.exitCode = await main(process.argv.slice(2));
