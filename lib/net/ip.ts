// Which IP version a text is (0: neither), written out so the pure parts (engine, matcher, config,
// fleet codec) need no Node I/O module: node:net's isIP gives the same answers (the unit test
// compares them on every form and on random text). Zone ids (fe80::1%eth0) count, as they do there.

const V4_SEG = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const H = '[0-9a-fA-F]{1,4}';
const IPV4 = new RegExp(`^${V4}$`);
// Eight groups, one "::" standing for one or more zero groups, an IPv4 tail in place of the last two.
const IPV6 = new RegExp('^(?:' + [
  `(?:${H}:){7}(?:${H}|:)`,
  `(?:${H}:){6}(?:${V4}|:${H}|:)`,
  `(?:${H}:){5}(?::${V4}|(?::${H}){1,2}|:)`,
  `(?:${H}:){4}(?:(?::${H}){0,1}:${V4}|(?::${H}){1,3}|:)`,
  `(?:${H}:){3}(?:(?::${H}){0,2}:${V4}|(?::${H}){1,4}|:)`,
  `(?:${H}:){2}(?:(?::${H}){0,3}:${V4}|(?::${H}){1,5}|:)`,
  `(?:${H}:){1}(?:(?::${H}){0,4}:${V4}|(?::${H}){1,6}|:)`,
  `(?::(?:(?::${H}){0,5}:${V4}|(?::${H}){1,7}|:))`,
].join('|') + ')(?:%[0-9a-zA-Z.:-]{1,})?$');

export const isIPv4 = (text: string): boolean => IPV4.test(text);
export const isIPv6 = (text: string): boolean => IPV6.test(text);

export function ipVersion(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}
