// One shape for a result that can fail without throwing (parsers of one value): `ok` says which,
// a failure carries `error` (a message, or a code naming the refusal), a success its named fields.

export type Failure<E = string> = { readonly ok: false; readonly error: E };
export type Result<T extends object, E = string> = ({ readonly ok: true } & T) | Failure<E>;

export const failure = <E>(error: E): Failure<E> => ({ ok: false, error });
