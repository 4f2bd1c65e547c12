// The grant sets' elements as the kernel dumps them (binary concatenations) read back as the text
// keys grantBatch writes, so the watchdog can tell which live grants a set lost (`nft flush set`,
// a saved ruleset reloaded). Pure.

import { ELEM, elementValue, setElements } from './netlink-attrs.js';
import { FirewallInputError, checkName } from './validate.js';
import { canonicalAddress, formatIPv6 } from '../config/address.js';
import { ALLOW4, ALLOW6 } from './commands.js';
import { FWD4, FWDOK4, LNAT4, MASQ4, SNAT4 } from './nat-commands.js';

type Field = 'v4' | 'v6' | 'proto' | 'port';

/** Each grant set's key fields and (maps) data fields, in nft's order. */
export const GRANT_SET_FIELDS: Readonly<Record<string, { key: readonly Field[]; data?: readonly Field[] }>> = {
  [ALLOW4]: { key: ['v4', 'proto', 'port'] },
  [ALLOW6]: { key: ['v6', 'proto', 'port'] },
  [FWD4]: { key: ['v4', 'proto', 'port'], data: ['v4', 'port'] },
  [LNAT4]: { key: ['v4', 'proto', 'port'], data: ['port'] },
  [FWDOK4]: { key: ['v4', 'v4', 'proto', 'port'] },
  [MASQ4]: { key: ['v4', 'v4', 'proto', 'port'] },
  [SNAT4]: { key: ['v4', 'v4', 'proto', 'port'], data: ['v4'] },
};

const SIZE: Record<Field, number> = { v4: 4, v6: 16, proto: 1, port: 2 };
const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp' };

/** A concatenation's fields (each padded to 4 bytes, nft's registers) as `a . b . c`; undefined if it is not that shape. */
export function decodeFields(buf: Buffer, fields: readonly Field[]): string | undefined {
  const out: string[] = [];
  let at = 0;
  for (const f of fields) {
    const n = SIZE[f];
    if (at + n > buf.length) return undefined;
    const v = buf.subarray(at, at + n);
    if (f === 'v4') out.push([...v].join('.'));
    else if (f === 'v6') out.push(formatIPv6(v)); // as written: an IPv4-mapped one stays IPv6
    else if (f === 'proto') { const p = PROTO[v[0]!]; if (!p) return undefined; out.push(p); }
    else out.push(String(v.readUInt16BE(0)));
    at += (n + 3) & ~3;
  }
  return at === ((buf.length + 3) & ~3) || at === buf.length ? out.join(' . ') : undefined;
}

/** The elements of a grant set's dump as `key` or `key : data` text; unknown shapes left out. */
export function grantSetElements(set: string, messages: readonly Buffer[]): Set<string> {
  const shape = GRANT_SET_FIELDS[set];
  const out = new Set<string>();
  if (!shape) return out;
  for (const e of setElements(messages)) {
    const key = decodeFields(elementValue(e, ELEM.key) ?? Buffer.alloc(0), shape.key);
    if (key === undefined) continue;
    if (!shape.data) { out.add(key); continue; }
    const data = decodeFields(elementValue(e, ELEM.data) ?? Buffer.alloc(0), shape.data);
    if (data !== undefined) out.add(`${key} : ${data}`);
  }
  return out;
}

const FIELD_TEXT: Record<Field, RegExp> = {
  v4: /^\d{1,3}(\.\d{1,3}){3}$/,
  v6: /^[0-9a-f]*:[0-9a-f:.]{1,44}$/,
  proto: /^(tcp|udp)$/,
  port: /^\d{1,5}$/,
};

function checkField(f: Field, text: string): string {
  const ok = FIELD_TEXT[f].test(text) && (f === 'v4' || f === 'v6' ? canonicalAddress(text) === text
    : f === 'port' ? Number(text) >= 1 && Number(text) <= 65535
    : true);
  if (!ok) throw new FirewallInputError(`not a ${f} field: ${JSON.stringify(text)}`);
  return text;
}

/**
 * Deletes grant set elements given as the text grantSetElements() read (`key`, or `key : data` for
 * a map). Each is added first (with its data), then deleted, so one that expired meanwhile is no
 * error and the batch never fails for it. Every field is checked against the set's shape before it
 * is written; an element that does not pass (port 0, an odd address) is skipped and returned.
 */
export function revokeBatch(table: string,
  elements: ReadonlyArray<{ set: string; text: string }>): { batch: string; skipped: Array<{ set: string; text: string }> } {
  const t = `inet ${checkName(table)}`;
  const skipped: Array<{ set: string; text: string }> = [];
  const lines: string[] = [];
  for (const e of elements) {
    const shape = GRANT_SET_FIELDS[e.set];
    const [keyText, dataText] = e.text.split(' : ');
    const key = keyText!.split(' . ');
    const data = dataText?.split(' . ');
    try {
      if (!shape || key.length !== shape.key.length || (shape.data ? data?.length !== shape.data.length : data !== undefined)) {
        throw new FirewallInputError('shape');
      }
      const k = key.map((p, i) => checkField(shape.key[i]!, p)).join(' . ');
      const d = shape.data ? ` : ${data!.map((p, i) => checkField(shape.data![i]!, p)).join(' . ')}` : '';
      lines.push(`add element ${t} ${e.set} { ${k}${d} }`, `delete element ${t} ${e.set} { ${k} }`);
    } catch (err) {
      if (!(err instanceof FirewallInputError)) throw err;
      skipped.push(e);
    }
  }
  return { batch: lines.length ? `${lines.join('\n')}\n` : '', skipped };
}
