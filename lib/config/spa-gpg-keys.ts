// Door keys for GnuPG SPA (docs/gpg-spa.md), fwknopd's GPG_* access keys by Sesame's names:
//   SPA_GPG_Home_Dir = DIR            the GnuPG home holding the door's secret key (default /root/.gnupg)
//   SPA_GPG_Decrypt_ID = ID           the key packets are encrypted to (informational: gpg picks the key)
//   SPA_GPG_Decrypt_Pw = TEXT         its passphrase, or
//   SPA_GPG_Decrypt_Pw_File = PATH    a file holding it (root's alone), or
//   SPA_GPG_Allow_No_Pw = yes         the key has none
//   SPA_GPG_Remote_ID = ID, ...       whose signatures open the door: short or long key IDs, or
//                                     fingerprints, of a primary key or a signing subkey
//   SPA_GPG_Require_Sig = yes|no      default yes
// A GnuPG door needs no SPA_Key; SPA_HMAC_Key_Base64 is optional (checked first when set).

import { failAtLine } from './errors.js';
import type { DoorDraft, DoorKey, KeyContext } from './drafts.js';
import { spaDraft } from './drafts.js';
import { yesNo } from './yes-no.js';
import { parseGpgIdList, weakIds } from '../spa/gpg-ids.js';
import type { SpaGpg } from './types.js';

/** fwknopd's placeholder in its shipped access.conf: a fatal error there, and here. */
const CHANGE_ME = '__CHANGEME__';
export const DEFAULT_GPG_HOME = '/root/.gnupg';

function gpg(door: DoorDraft, ctx: KeyContext): NonNullable<NonNullable<DoorDraft['spa']>['gpg']> {
  const s = spaDraft(door, ctx);
  s.gpg ??= { line: ctx.line };
  return s.gpg;
}

function passphrase(ctx: KeyContext, key: string, value: string): string {
  if (value === CHANGE_ME) failAtLine(ctx, `${key} is still ${CHANGE_ME}`);
  if (value.length === 0 || value.length > 1024 || /[\r\n\0]/.test(value)) failAtLine(ctx, `${key}: not a passphrase`);
  return value;
}

export const SPA_GPG_DOOR_KEYS: readonly DoorKey[] = [
  {
    names: ['SPA_GPG_HOME_DIR'],
    apply(door, value, ctx) {
      if (!value.startsWith('/')) failAtLine(ctx, `SPA_GPG_Home_Dir: "${value}" is not an absolute path`);
      gpg(door, ctx).homeDir = value;
    },
  },
  { names: ['SPA_GPG_DECRYPT_ID'], apply(door, value, ctx) { gpg(door, ctx).decryptId = value; } },
  {
    names: ['SPA_GPG_DECRYPT_PW'],
    apply(door, value, ctx) {
      const g = gpg(door, ctx);
      if (g.passphrase !== undefined) failAtLine(ctx, 'the GnuPG passphrase is given twice');
      g.passphrase = passphrase(ctx, 'SPA_GPG_Decrypt_Pw', value);
    },
  },
  {
    names: ['SPA_GPG_DECRYPT_PW_FILE'],
    apply(door, value, ctx) {
      const g = gpg(door, ctx);
      if (g.passphrase !== undefined) failAtLine(ctx, 'the GnuPG passphrase is given twice');
      if (!value.startsWith('/')) failAtLine(ctx, `SPA_GPG_Decrypt_Pw_File: "${value}" is not an absolute path`);
      const text = ctx.readPrivate(value).replace(/\r?\n$/, '');
      g.passphrase = passphrase(ctx, `SPA_GPG_Decrypt_Pw_File (${value})`, text);
    },
  },
  { names: ['SPA_GPG_ALLOW_NO_PW'], apply(door, value, ctx) { gpg(door, ctx).allowNoPw = yesNo(ctx, 'SPA_GPG_Allow_No_Pw', value); } },
  { names: ['SPA_GPG_REQUIRE_SIG'], apply(door, value, ctx) { gpg(door, ctx).requireSig = yesNo(ctx, 'SPA_GPG_Require_Sig', value); } },
  {
    names: ['SPA_GPG_REMOTE_ID'],
    apply(door, value, ctx) {
      const r = parseGpgIdList(value);
      if (!r.ok) failAtLine(ctx, `SPA_GPG_Remote_ID: ${r.error}`);
      const weak = weakIds(r.ids);
      if (weak.length) {
        ctx.warnings.push(`${ctx.file}: line ${ctx.line}: SPA_GPG_Remote_ID: ${weak.map((i) => i.text).join(', ')} ` +
          'is a short key ID, which anyone can forge a key for; give the fingerprint');
      }
      gpg(door, ctx).remoteIds = { ids: r.ids, line: ctx.line };
    },
  },
];

/** The door's GnuPG settings, or undefined; throws (via `err`) what cannot be used. */
export function finishGpg(d: NonNullable<DoorDraft['spa']>['gpg'], err: (line: number, text: string) => never): SpaGpg | undefined {
  if (!d) return undefined;
  if (d.passphrase === undefined && !d.allowNoPw) {
    err(d.line, 'GnuPG SPA needs SPA_GPG_Decrypt_Pw, SPA_GPG_Decrypt_Pw_File or SPA_GPG_Allow_No_Pw = yes');
  }
  return {
    homeDir: d.homeDir ?? DEFAULT_GPG_HOME, decryptId: d.decryptId, passphrase: d.passphrase,
    remoteIds: d.remoteIds?.ids ?? [], requireSig: d.requireSig ?? true, line: d.line,
  };
}
