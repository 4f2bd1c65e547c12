// The recorded fwknop packets (fwknop-vectors.json, from the real 2.6.10 client and server) decode
// to their recorded fields; the encoder reproduces the deterministic vectors byte for byte; the
// server edge cases get fwknopd's verdicts.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { decodeWire, encodeFields, SALTED_PREFIX, checkShape, type SpaKeys } from '../../lib/spa/wire.js';
import { deriveKeyIv, type CipherMode } from '../../lib/spa/cipher.js';
import { digestByName, type DigestName } from '../../lib/spa/digests.js';
import { decodePlaintext, type SpaFields } from '../../lib/spa/message.js';
import { replayDigest } from '../../lib/spa/replay.js';

interface Vector {
  id: string;
  encryption_key: { key_base64?: string; key_string?: string };
  hmac_key_base64?: string;
  hmac_type?: string | null;
  encryption_mode: string;
  digest_type?: string;
  wire: string;
  plaintext: string;
  salt_hex: string;
  fields?: SpaFields;
  input_fields?: { rand: string; username: string; timestamp: number; message: string; clientTimeout?: number };
  derived_aes256_key_hex?: string;
  derived_iv_hex?: string;
  replay_cache_digest_sha256_b64?: string;
}
const file = JSON.parse(readFileSync(new URL('../fixtures/spa/fwknop-vectors.json', import.meta.url), 'utf8'));
const vectors: Vector[] = file.vectors;
const edge: { id: string; wire: string; fwknopd_result: string; fwknopd_error: string | null }[] = file.server_edge_cases.cases;
const A = file.keys.A;

function keysOf(v: Vector): SpaKeys {
  const key = v.encryption_key.key_base64 !== undefined
    ? Buffer.from(v.encryption_key.key_base64, 'base64')
    : Buffer.from(v.encryption_key.key_string!, 'latin1');
  return {
    key,
    hmacKey: v.hmac_key_base64 ? Buffer.from(v.hmac_key_base64, 'base64') : undefined,
    hmacDigest: digestByName(v.hmac_type ?? 'sha256')!,
    mode: v.encryption_mode as CipherMode,
  };
}

t.equal(vectors.length, 25, 'all 25 vectors present');

for (const v of vectors) {
  t.test(v.id, async (t) => {
    const r = decodeWire(v.wire, keysOf(v));
    t.ok(r.ok, `decodes (${r.ok ? '' : r.error})`);
    if (!r.ok) return;
    const expected: SpaFields = v.fields ?? {
      rand: v.input_fields!.rand, username: v.input_fields!.username, timestamp: v.input_fields!.timestamp,
      version: '3.0.0', messageType: v.input_fields!.clientTimeout ? 3 : 1, message: v.input_fields!.message,
      natAccess: null, serverAuth: null, clientTimeout: v.input_fields!.clientTimeout ?? 0,
    };
    t.same(r.fields, expected, 'fields as recorded');
    t.equal(r.digest, digestByName(v.digest_type ?? 'sha256'), 'inner digest type');
    t.equal(checkShape(v.wire), undefined, 'shape accepted');
    if (v.replay_cache_digest_sha256_b64) t.equal(replayDigest(v.wire), v.replay_cache_digest_sha256_b64, 'replay digest');
    // The plaintext parses the same on its own.
    const p = decodePlaintext(v.plaintext);
    t.ok(p.ok && p.fields.rand === expected.rand, 'recorded plaintext parses');
    const keys = keysOf(v);
    if (keys.hmacKey) {
      // One flipped character anywhere fails the HMAC.
      const i = Math.floor(v.wire.length / 3);
      const flipped = v.wire.slice(0, i) + (v.wire[i] === 'A' ? 'B' : 'A') + v.wire.slice(i + 1);
      const f = decodeWire(flipped, keys);
      t.same(f, { ok: false, error: 'hmac' }, 'tampered wire fails the HMAC');
      // The wrong digest type for the HMAC fails too.
      const other: DigestName = keys.hmacDigest === 'sha256' ? 'sha512' : 'sha256';
      t.notOk(decodeWire(v.wire, { ...keys, hmacDigest: other }).ok, 'another HMAC type fails');
    }
  });
}

t.test('deterministic vectors: KDF and encoder reproduce the recorded bytes', async (t) => {
  const det = vectors.filter((v) => v.input_fields);
  t.equal(det.length, 2);
  for (const v of det) {
    const keys = keysOf(v);
    const salt = Buffer.from(v.salt_hex, 'hex');
    const { key, iv } = deriveKeyIv(keys.key, salt);
    t.equal(key.toString('hex'), v.derived_aes256_key_hex, `${v.id}: key`);
    t.equal(iv.toString('hex'), v.derived_iv_hex, `${v.id}: iv`);
    const r = decodeWire(v.wire, keys);
    t.ok(r.ok);
    if (!r.ok) continue;
    const wire = encodeFields(r.fields, keys, { salt, digest: digestByName(v.digest_type!)! });
    t.equal(wire, v.wire, `${v.id}: encoder output equals the recorded wire`);
  }
});

t.test('OpenSSL KDF check from the spec', async (t) => {
  const { key, iv } = deriveKeyIv(Buffer.from('my passphrase'), Buffer.from('0011223344556677', 'hex'));
  t.match(key.toString('hex').toUpperCase(), /^0112A38D.*F43F$/);
  t.match(iv.toString('hex').toUpperCase(), /^942EDA64.*2B67$/);
});

t.test('server edge cases get fwknopd\'s verdict', async (t) => {
  const keys: SpaKeys = { key: Buffer.from(A.KEY_BASE64, 'base64'), hmacKey: Buffer.from(A.HMAC_KEY_BASE64, 'base64'), hmacDigest: 'sha256', mode: 'cbc' };
  const expectError: Record<string, string> = {
    user49: 'username', tsJunk: 'timestamp', rand17: 'rand', icmp: 'message', badIP: 'message', userColon: 'username', hmacNoPrefix: 'hmac',
  };
  t.equal(edge.length, 9);
  for (const c of edge) {
    const r = decodeWire(c.wire, keys);
    if (c.fwknopd_result === 'accept') t.ok(r.ok, `${c.id} accepted`);
    else t.same(r, { ok: false, error: expectError[c.id] }, `${c.id} refused (${c.fwknopd_error})`);
  }
});

t.test('shape checks', async (t) => {
  const w = vectors[0]!.wire;
  t.equal(checkShape(w.slice(0, 139)), 'too-short');
  t.equal(checkShape('A'.repeat(400)), 'too-long');
  t.equal(checkShape(SALTED_PREFIX + w), 'prefix');
  t.equal(checkShape('!'.repeat(200)), 'not-base64');
  t.equal(checkShape(w.slice(0, 150) + '=' + w.slice(151)), 'not-base64');
});
