// Process entry for bin/knock.
import { knockMain } from '../client/knock-main.js';

process.exitCode = await knockMain(process.argv.slice(2));
