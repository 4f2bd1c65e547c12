// What a SIGHUP switches to: the re-read config, or nothing (the running one stays) when the file
// is broken or asks for what only a restart can set up. Each refusal is logged with its reason.

import { loadConfig } from '../config/parser.js';
import { ConfigError, errorLocation } from '../config/errors.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { needsFirewall } from './door-firewall.js';

export function configForReload(path: string, hasFirewall: boolean, logger: Logger): Config | undefined {
  let config: Config;
  try {
    config = loadConfig(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // One log line: knockd's message, then where (unless the message already names the file).
    const where = err.message.startsWith(`${err.file}:`) ? '' : ` (${errorLocation(err)})`;
    logger.log(`${err.message}${where}`, { stderr: true });
    logger.log('config not reloaded: keeping the running configuration');
    return undefined;
  }
  for (const w of config.warnings) logger.log(`warning: ${w}`, { stderr: true });
  if (needsFirewall(config) && !hasFirewall) {
    logger.log('config not reloaded: Open or SPA NAT was added; restart knockd to set up the firewall table', { stderr: true });
    return undefined;
  }
  return config;
}
