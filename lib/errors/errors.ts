// One error tree for Sesame (as undici's core/errors.js): every error Sesame raises on purpose is
// a SesameError with a stable `code`, so callers and tests branch on codes, not on classes or
// message texts. Message texts stay what the user sees (knockd's, where knockd has one).

export const ERROR_CODES = {
  /** knockd.conf (or a file it names) is wrong: message is knockd's, with file and line. */
  config: 'SESAME_ERR_CONFIG',
  /** The daemon cannot start (capture, nftables, instance in use, ...). */
  start: 'SESAME_ERR_START',
  /** Another running knockd holds this instance's state directory or table. */
  instanceInUse: 'SESAME_ERR_INSTANCE_IN_USE',
  /** nft refused a batch (its own text). */
  firewall: 'SESAME_ERR_FIREWALL',
  /** A value was refused before it could reach an nft command. */
  firewallInput: 'SESAME_ERR_FIREWALL_INPUT',
  /** A knock --spa setting is wrong (command line or rc file value). */
  spaInput: 'SESAME_ERR_SPA_INPUT',
  /** An fwknop rc file cannot be used. */
  rcFile: 'SESAME_ERR_RC_FILE',
  /** A knock profile cannot be used. */
  profile: 'SESAME_ERR_PROFILE',
  /** gpg failed or refused (encrypting a GnuPG SPA message). */
  gpg: 'SESAME_ERR_GPG',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class SesameError extends Error {
  constructor(message: string, readonly code: ErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SesameError';
  }

  /** What the user is shown, line by line (a config error adds where it is). */
  userLines(): string[] {
    return [this.message];
  }
}

export function isSesameError(err: unknown, code?: ErrorCode): err is SesameError {
  return err instanceof SesameError && (code === undefined || err.code === code);
}
