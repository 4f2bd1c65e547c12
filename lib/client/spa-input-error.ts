// A knock --spa setting that cannot be used: the message names the option or rc line at fault.

import { ERROR_CODES, SesameError } from '../errors/errors.js';

export class SpaInputError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.spaInput);
    this.name = 'SpaInputError';
  }
}
