// SPA in an HTTP request (lib/spa/http-request.ts): fwknop's exact requests (2.6.10's header order
// and 2.6.9's), the method in any case, what is ignored and what is refused, fwknopd's User-Agent
// rule and SPA_HTTP_Any_User_Agent, X-Forwarded-For headers joined, and random payloads.

import t from 'tap';
import { isHttpGet, parseHttpSpa, type HttpRefusal, type HttpSpa } from '../../lib/spa/http-request.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.HTTP_FUZZ_SEED ? Number(process.env.HTTP_FUZZ_SEED) >>> 0 : 0x4777_0001;
t.comment(`HTTP fuzz seed ${SEED}`);

// A wire text with every character the escaping touches.
const WIRE = '8Sm+Zl/0Yh1a2b3c+/+/d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ' + 'abcdefghij'.repeat(10) + '+/';
const ESCAPED = WIRE.replace(/\+/g, '-').replace(/\//g, '_');
/** fwknop 2.6.10 (client/spa_comm.c send_spa_packet_http). */
const req2610 = (path = ESCAPED, host = '192.0.2.1') =>
  `GET /${path} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\nAccept: */*\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
/** 2.6.9 sends Host before Accept. */
const req269 = (path = ESCAPED) => `GET /${path} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.9\r\nHost: 192.0.2.1\r\nAccept: */*\r\nConnection: close\r\n\r\n`;

const ok = (r: HttpSpa | HttpRefusal) => (r.ok ? r : undefined);
const why = (r: HttpSpa | HttpRefusal) => (r.ok ? 'ok' : `${r.action}: ${r.reason}`);
/** The User-Agent refusal, naming what was seen (each header quoted, or `none`). */
const REFUSE_UA = (seen: string) => `refuse: HTTP User-Agent ${seen} is not Fwknop (SPA_HTTP_Any_User_Agent is off)`;

t.test('fwknop 2.6.10 and 2.6.9: the wire un-escaped, no X-Forwarded-For', async (t) => {
  for (const r of [parseHttpSpa(req2610(), false), parseHttpSpa(req269(), false), parseHttpSpa(req2610(), true)]) {
    t.same(r, { ok: true, wire: WIRE, forwardedFor: undefined });
  }
  t.equal(ok(parseHttpSpa(req2610('abc+def/ghi'), false))?.wire, 'abc+def/ghi', "a '+' or '/' sent as is stays");
  t.equal(ok(parseHttpSpa(req2610(''), false))?.wire, '', 'an empty path is an empty wire (the gate finds it too short)');
});

t.test('the method in any case; bare LF line ends; HTTP/1.0 and no version', async (t) => {
  for (const m of ['get', 'Get', 'gEt', 'GET']) {
    const r = parseHttpSpa(req2610().replace(/^GET/, m), false);
    t.equal(ok(r)?.wire, WIRE, m);
    t.ok(isHttpGet(`${m} /x`), m);
  }
  t.equal(ok(parseHttpSpa(req2610().replace(/\r\n/g, '\n'), false))?.wire, WIRE, 'LF only');
  t.equal(ok(parseHttpSpa(req2610().replace('HTTP/1.1', 'HTTP/1.0'), false))?.wire, WIRE);
  t.equal(ok(parseHttpSpa(req2610().replace(' HTTP/1.1', ''), false))?.wire, WIRE, 'HTTP/0.9 form');
  t.equal(ok(parseHttpSpa(`GET /${ESCAPED}`, true))?.wire, WIRE, 'a lone request line (no headers at all)');
});

t.test('not an HTTP GET of a path: ignored, as fwknopd is silent', async (t) => {
  for (const p of ['', 'GET', 'GET ', 'GET/', 'GETX /', ' GET /x', 'POST /x HTTP/1.1\r\n\r\n', 'HEAD /x HTTP/1.1\r\n\r\n', 'GET  /x', 'GET\t/x',
    `GET http://192.0.2.1/${ESCAPED} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n`, 'GET *', WIRE]) {
    t.equal(isHttpGet(p), false, JSON.stringify(p.slice(0, 30)));
    t.same(parseHttpSpa(p, true), { ok: false, action: 'ignore', reason: 'not an HTTP GET request' }, JSON.stringify(p.slice(0, 30)));
  }
});

t.test('a bad request line refuses', async (t) => {
  for (const first of [`GET /${ESCAPED} HTTP/2`, `GET /${ESCAPED} HTTP/1.1 x`, `GET /${ESCAPED}  HTTP/1.1`, `GET /${ESCAPED} http/1.1x`,
    `GET /${ESCAPED} FTP/1.1`, `GET /a b`, `GET /${ESCAPED}\tHTTP/1.1`, `GET /${ESCAPED} HTTP/1.1\r`]) {
    t.equal(why(parseHttpSpa(`${first}\r\nUser-Agent: Fwknop\r\n\r\n`, true)), 'refuse: bad HTTP request line', JSON.stringify(first.slice(-14)));
  }
});

t.test('bad header lines refuse', async (t) => {
  for (const h of ['no colon here', ': empty name', 'Bad Name: x', ' folded: x', '\tUser-Agent: Fwknop', 'User-Agent : Fwknop', 'Name\t: x']) {
    t.equal(why(parseHttpSpa(`GET /x HTTP/1.1\r\nUser-Agent: Fwknop\r\n${h}\r\n\r\n`, true)), 'refuse: bad HTTP header line', JSON.stringify(h));
  }
  t.equal(ok(parseHttpSpa('GET /x HTTP/1.1\r\nEmpty:\r\nweird-but-ok:::\r\n\r\n', true))?.wire, 'x', 'empty values and colons in values are fine');
  t.equal(ok(parseHttpSpa('GET /x HTTP/1.1\r\n\r\nanything at all\r\n: after the blank line', true))?.wire, 'x', 'a body is never read');
});

t.test('the end of the headers is needed', async (t) => {
  const cut = req2610().slice(0, req2610().indexOf('Connection'));
  t.equal(why(parseHttpSpa(`${cut}Connection: clo`, false)), 'refuse: HTTP request without the end of its headers', 'cut inside a header');
  t.equal(why(parseHttpSpa(cut, false)), 'refuse: HTTP request without the end of its headers', 'cut after a header line');
  t.equal(why(parseHttpSpa(`GET /${ESCAPED} HTTP/1.1\r\n`, true)), 'refuse: HTTP request without the end of its headers', 'the request line alone, ended');
  t.equal(why(parseHttpSpa(`GET /${ESCAPED} HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n`, true)),
    'refuse: HTTP request without the end of its headers', 'so a cut-off header is never half read');
});

t.test('too many header lines refuse (64 are read)', async (t) => {
  const head = (n: number) => 'GET /x HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\n' + Array.from({ length: n - 1 }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
  t.equal(ok(parseHttpSpa(`${head(64)}\r\n`, false))?.wire, 'x', '64 headers');
  t.equal(why(parseHttpSpa(`${head(65)}\r\n`, false)), 'refuse: too many HTTP header lines', '65 headers');
  t.equal(why(parseHttpSpa(`${head(5000)}\r\n`, false)), 'refuse: too many HTTP header lines', '5000 headers');
});

t.test("fwknopd's User-Agent rule: one User-Agent starting \"Fwknop\", case-sensitive", async (t) => {
  const with_ = (ua: string) => `GET /x HTTP/1.1\r\n${ua}\r\nAccept: */*\r\n\r\n`;
  for (const ua of ['User-Agent: Fwknop/2.6.10', 'User-Agent: Fwknop', 'user-agent: Fwknop/2.6.11', 'USER-AGENT:Fwknop', 'User-Agent:   FwknopX  ']) {
    t.equal(why(parseHttpSpa(with_(ua), false)), 'ok', ua);
  }
  const refused: [string, string][] = [
    ['User-Agent: fwknop/2.6.10', '"fwknop/2.6.10"'], ['User-Agent: FWKNOP', '"FWKNOP"'],
    ['User-Agent: curl/8.0 Fwknop', '"curl/8.0 Fwknop"'], ['User-Agent: Wget', '"Wget"'], ['User-Agent:', '""'],
    ['X-User-Agent: Fwknop', 'none'], ['Agent: Fwknop', 'none'],
    ['User-Agent: Fwknop\r\nUser-Agent: Fwknop', '"Fwknop", "Fwknop"'],
    ['User-Agent: Wget\r\nuser-agent: curl/8', '"Wget", "curl/8"'],
  ];
  for (const [ua, seen] of refused) {
    t.equal(why(parseHttpSpa(with_(ua), false)), REFUSE_UA(seen), ua);
    t.equal(why(parseHttpSpa(with_(ua), true)), 'ok', `${ua} (any user agent)`);
  }
  t.equal(why(parseHttpSpa('GET /x HTTP/1.1\r\n\r\n', false)), REFUSE_UA('none'), 'no User-Agent');
  t.equal(why(parseHttpSpa('GET /x HTTP/1.1\r\n\r\n', true)), 'ok');
  t.equal(why(parseHttpSpa('GET /x HTTP/1.1\r\nReferer: User-Agent: Fwknop\r\n\r\n', false)), REFUSE_UA('none'),
    "fwknopd's strstr would take this; Sesame reads the header");
});

t.test('the User-Agent refusal shows what was seen: printable, quoted, cut at 60 characters', async (t) => {
  const with_ = (ua: string) => `GET /x HTTP/1.1\r\nUser-Agent: ${ua}\r\n\r\n`;
  t.equal(why(parseHttpSpa(with_('Evil\x1b[31m"x\\y\x7f\xe9'), false)), REFUSE_UA('"Evil\\x1b[31m\\x22x\\x5cy\\x7f\\xe9"'),
    'control characters, quotes, backslashes and non-ASCII as \\xHH');
  t.equal(why(parseHttpSpa(with_('A'.repeat(60)), false)), REFUSE_UA(`"${'A'.repeat(60)}"`), '60 characters: whole');
  t.equal(why(parseHttpSpa(with_('B'.repeat(61)), false)), REFUSE_UA(`"${'B'.repeat(60)}..."`), '61 characters: cut');
  t.equal(why(parseHttpSpa(with_('C'.repeat(5000)), false)), REFUSE_UA(`"${'C'.repeat(60)}..."`), 'a long header: cut');
  t.equal(why(parseHttpSpa(with_('"Fwknop"'), false)), REFUSE_UA('"\\x22Fwknop\\x22"'), 'a quoted Fwknop is not Fwknop');
  // Header lines are split at line ends, so no refusal can carry one; a lone CR is escaped.
  t.equal(why(parseHttpSpa(with_('a\rb'), false)), REFUSE_UA('"a\\x0db"'));
});

t.test('X-Forwarded-For: entries in order, several headers joined, trimmed', async (t) => {
  const xff = (...hs: string[]) => ok(parseHttpSpa(`GET /x HTTP/1.1\r\nUser-Agent: Fwknop\r\n${hs.join('\r\n')}\r\n\r\n`, false))?.forwardedFor;
  t.same(xff('X-Forwarded-For: 198.51.100.1'), ['198.51.100.1']);
  t.same(xff('x-forwarded-for:198.51.100.1,10.0.0.1'), ['198.51.100.1', '10.0.0.1']);
  t.same(xff('X-Forwarded-For: a , b,c  ', 'Accept: */*', 'X-FORWARDED-FOR: d', 'X-Forwarded-For:  e, f'), ['a', 'b', 'c', 'd', 'e', 'f']);
  t.same(xff('X-Forwarded-For:'), [''], 'an empty header is one empty entry (refused by the walk from a trusted proxy)');
  t.same(xff('X-Forwarded-For: a,,b'), ['a', '', 'b']);
  t.same(xff('X-Forwarded-For: 2001:db8::1, ::ffff:10.0.0.1'), ['2001:db8::1', '::ffff:10.0.0.1']);
  t.same(xff('Forwarded: for=1.2.3.4', 'X-Real-IP: 1.2.3.4'), undefined, 'only X-Forwarded-For is read');
});

t.test('fuzz: random payloads never throw; every answer is well formed', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const pieces = ['GET /', 'get /', 'GET ', '\r\n', '\n', '\r', '\r\n\r\n', 'User-Agent: Fwknop/2.6.10', 'User-Agent: x', 'X-Forwarded-For: ',
    ',', ' ', ':', 'HTTP/1.1', '-', '_', '+', '/', 'A', '\0', '\xff', 'Host: h', '\t'];
  let counts = { ok: 0, ignore: 0, refuse: 0 };
  for (let i = 0; i < 30_000 && Date.now() - started < 15_000; i++) {
    let p = rng.chance(0.6) ? 'GET /' : '';
    const parts = rng.range(0, 40);
    for (let k = 0; k < parts; k++) p += rng.chance(0.7) ? rng.pick(pieces) : rng.bytes(rng.range(1, 20)).toString('latin1');
    for (const any of [false, true]) {
      let r: HttpSpa | HttpRefusal;
      try {
        r = parseHttpSpa(p, any);
      } catch (err) {
        t.fail(`threw ${String(err)} on ${JSON.stringify(p)}`);
        return;
      }
      if (r.ok) {
        counts.ok++;
        if (!isHttpGet(p) || /[\s]/.test(r.wire) || r.wire.includes('-') || r.wire.includes('_')) { t.fail(`bad wire from ${JSON.stringify(p)}`); return; }
        if (r.forwardedFor && r.forwardedFor.some((e) => e !== e.trim() || e.includes(','))) { t.fail(`bad entries from ${JSON.stringify(p)}`); return; }
        if (!any && !/(^|\n)user-agent:[ \t]*Fwknop/i.test(p)) { t.fail(`UA rule skipped for ${JSON.stringify(p)}`); return; }
      } else {
        counts[r.action]++;
        if ((r.action === 'ignore') !== !isHttpGet(p)) { t.fail(`ignore/refuse wrong for ${JSON.stringify(p)}`); return; }
        if (/[^\x20-\x7e]/.test(r.reason) || r.reason.length > 400) { t.fail(`unprintable or long reason for ${JSON.stringify(p)}`); return; }
      }
    }
  }
  t.ok(counts.ok > 100 && counts.ignore > 1000 && counts.refuse > 1000, JSON.stringify(counts));
  counts = { ok: 0, ignore: 0, refuse: 0 };
});
