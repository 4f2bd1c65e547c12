// The daemon's start-up failure: one line for the user, exit status 1 (lib/errors/exit.ts).

import { ERROR_CODES, SesameError, type ErrorCode } from '../errors/errors.js';

export class StartError extends SesameError {
  constructor(message: string, code: ErrorCode = ERROR_CODES.start) {
    super(message, code);
    this.name = 'StartError';
  }
}
