// One error tree with stable codes (issue 12): every error Sesame raises on purpose is a
// SesameError whose code says what went wrong; messages stay what users see.

import t from 'tap';
import { ERROR_CODES, SesameError, isSesameError } from '../../lib/errors/errors.js';
import { EXIT } from '../../lib/errors/exit.js';
import { ConfigError } from '../../lib/config/errors.js';
import { parseConfig } from '../../lib/config/parser.js';
import { StartError } from '../../lib/daemon/start-error.js';
import { NftError } from '../../lib/firewall/types.js';
import { FirewallInputError, checkPort } from '../../lib/firewall/validate.js';
import { SpaInputError } from '../../lib/client/spa-request.js';
import { RcError } from '../../lib/client/fwknoprc.js';
import { ProfileError, loadProfile } from '../../lib/client/profiles.js';
import { GpgError } from '../../lib/gpg/encrypt.js';

t.test('each class carries its code and stays its own name', async (t) => {
  const cases: Array<[Error, string, string]> = [
    [new ConfigError('config: line 3: syntax error', 'x.conf', 3), ERROR_CODES.config, 'ConfigError'],
    [new StartError('could not open eth9: No such device'), ERROR_CODES.start, 'StartError'],
    [new StartError('state directory /x is in use', ERROR_CODES.instanceInUse), ERROR_CODES.instanceInUse, 'StartError'],
    [new NftError('Error: No such file or directory'), ERROR_CODES.firewall, 'NftError'],
    [new FirewallInputError('bad port'), ERROR_CODES.firewallInput, 'FirewallInputError'],
    [new SpaInputError('--key-base64: not base64'), ERROR_CODES.spaInput, 'SpaInputError'],
    [new RcError('~/.fwknoprc: not a regular file'), ERROR_CODES.rcFile, 'RcError'],
    [new ProfileError('knock: no profile [x] in y'), ERROR_CODES.profile, 'ProfileError'],
    [new GpgError('gpg could not encrypt'), ERROR_CODES.gpg, 'GpgError'],
  ];
  for (const [err, code, name] of cases) {
    t.ok(err instanceof SesameError, `${name} is a SesameError`);
    t.equal((err as SesameError).code, code);
    t.equal(err.name, name);
    t.ok(isSesameError(err, code as never));
  }
  t.equal(new Set(Object.values(ERROR_CODES)).size, Object.values(ERROR_CODES).length, 'codes are distinct');
  for (const c of Object.values(ERROR_CODES)) t.match(c, /^SESAME_ERR_[A-Z_]+$/);
});

t.test('raised where they happen', async (t) => {
  t.throws(() => parseConfig('[d]\nsequence = 1\nbogus = 1\n', 'f.conf'), { code: ERROR_CODES.config, name: 'ConfigError' });
  t.throws(() => checkPort(70000), { code: ERROR_CODES.firewallInput });
  t.throws(() => loadProfile('x', '/nonexistent/knock.ini'), { code: ERROR_CODES.profile, message: /cannot read profiles from \/nonexistent/ });
  t.notOk(isSesameError(new Error('x')));
});

t.test('exit statuses keep knockd\'s and knock\'s conventions', async (t) => {
  t.same(EXIT, { ok: 0, failure: 1, badOption: 0, sigint: 2, sigterm: 15, knockUsage: 1 });
});
