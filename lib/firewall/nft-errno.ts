// The errno behind an nft error. libnftables reports a refused batch as text only (its netlink
// error list, with the numbers, is not public API), each failure as "...: <strerror(errno)>".
// The backends read the errno back here, once, so that callers branch on a code and never on
// nft's wording. glibc's texts; nft runs with the C library's messages (no translation).

const STRERROR: ReadonlyArray<readonly [NftErrno, string]> = [
  ['ENOENT', 'No such file or directory'],
  ['EEXIST', 'File exists'],
  ['EPERM', 'Operation not permitted'],
  ['EBUSY', 'Device or resource busy'],
  ['ENOSPC', 'No space left on device'],
  ['ENOMEM', 'Cannot allocate memory'],
  ['ENOBUFS', 'No buffer space available'],
  ['EINVAL', 'Invalid argument'],
  ['EOPNOTSUPP', 'Operation not supported'],
  ['E2BIG', 'Argument list too long'],
];

/** The errnos nft's errors are told apart by. */
export type NftErrno = 'ENOENT' | 'EEXIST' | 'EPERM' | 'EBUSY' | 'ENOSPC' | 'ENOMEM' | 'ENOBUFS' | 'EINVAL' | 'EOPNOTSUPP' | 'E2BIG';

/** The first errno named in nft's error text (the batch's first failure), or undefined. */
export function nftErrno(text: string): NftErrno | undefined {
  let first: { at: number; errno: NftErrno } | undefined;
  for (const [errno, words] of STRERROR) {
    const at = text.indexOf(words);
    if (at >= 0 && (first === undefined || at < first.at)) first = { at, errno };
  }
  return first?.errno;
}
