// The command allow-list (lib/spa/command-allow.ts): the file's grammar and each line error, then
// matching a message's command against the templates (exact words, `{arg}` and what it refuses),
// and fuzz: random files and commands never throw, and no argv returned ever differs from its
// template in a literal word or carries an argument `{arg}` should have refused.

import t from 'tap';
import { ARG, allowedArgv, parseAllowList, type CommandTemplate } from '../../lib/spa/command-allow.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.ALLOW_FUZZ_SEED ? Number(process.env.ALLOW_FUZZ_SEED) >>> 0 : 0xa110_0001;
t.comment(`allow-list fuzz seed ${SEED}`);

const parsed = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(`line ${r.error.line}: ${r.error.error}`);
  return r.commands;
};
const lineError = (text: string) => {
  const r = parseAllowList(text);
  return r.ok ? undefined : r.error;
};
const PLAIN = 'is not a plain word (no quotes, $, ;, |, &, <, >, *, spaces)';
/** Templates as words, line and, per word, whether it holds a pattern (what the pattern matches is tested below). */
const shape = (ts: readonly CommandTemplate[]) =>
  ts.map((x) => ({ words: x.words, line: x.line, patterned: x.patterns.map((p) => p instanceof RegExp) }));
const parsedShape = (text: string) => shape(parsed(text));

t.test('the grammar: words, comments, blank and CRLF lines, tabs, line numbers', async (t) => {
  const text = '# allowed\n\n/usr/bin/systemctl restart nginx\r\n   \t\n  # indented comment\n'
    + '/usr/sbin/service\t{arg}  restart\n/bin/true\n/usr/bin/logger -t sesame opened=%h,user@x:1+2\n';
  t.strictSame(parsedShape(text), [
    { words: ['/usr/bin/systemctl', 'restart', 'nginx'], line: 3, patterned: [false, false, false] },
    { words: ['/usr/sbin/service', '{arg}', 'restart'], line: 6, patterned: [false, true, false] },
    { words: ['/bin/true'], line: 7, patterned: [false] },
    { words: ['/usr/bin/logger', '-t', 'sesame', 'opened=%h,user@x:1+2'], line: 8, patterned: [false, false, false, false] },
  ]);
  t.strictSame(parsed(''), [], 'an empty file allows nothing');
  t.strictSame(parsed('# only comments\n#\n'), []);
  t.strictSame(parsedShape('/bin/true'), [{ words: ['/bin/true'], line: 1, patterned: [false] }], 'no final newline');
  t.strictSame(parsedShape('\r\n\r\n/bin/true\r\n'), [{ words: ['/bin/true'], line: 3, patterned: [false] }], 'CRLF throughout');
  t.strictSame(parsedShape('/bin/echo {arg}\r\n/bin/cat /var/spool/{arg}.job\r\n/bin/true\r'), [
    { words: ['/bin/echo', '{arg}'], line: 1, patterned: [false, true] },
    { words: ['/bin/cat', '/var/spool/{arg}.job'], line: 2, patterned: [false, true] },
    { words: ['/bin/true'], line: 3, patterned: [false] },
  ], 'CRLF after a placeholder, a placeholder inside a word, a last line ending in a lone CR');
  t.strictSame(parsedShape('\n\r\n\n/bin/a\r\n\r\n/bin/b'), [
    { words: ['/bin/a'], line: 4, patterned: [false] }, { words: ['/bin/b'], line: 6, patterned: [false] },
  ], 'mixed LF and CRLF lines counted alike');
  const crlf = parsed('/bin/echo {arg}\r\n');
  t.same(allowedArgv('/bin/echo x', crlf), { argv: ['/bin/echo', 'x'], line: 1 }, 'no CR kept in a word or its pattern');
});

t.test('line errors: each names its line', async (t) => {
  const cases: [string, number, string][] = [
    ['bin/ls', 1, '"bin/ls" is not an absolute path'],
    ['\n\nls -l', 3, '"ls" is not an absolute path'],
    ['{arg} x', 1, '"{arg}" is not an absolute path'],
    ['./run', 1, '"./run" is not an absolute path'],
    ['/bin/echo "hello"', 1, `""hello"" ${PLAIN}`],
    ["/bin/echo 'hi'", 1, `"'hi'" ${PLAIN}`],
    ['/bin/echo "a b"', 1, `""a" ${PLAIN}`],
    ['/bin/echo $HOME', 1, `"$HOME" ${PLAIN}`],
    ['/bin/echo a;b', 1, `"a;b" ${PLAIN}`],
    ['/bin/true ; /bin/false', 1, `";" ${PLAIN}`],
    ['/bin/echo a|b', 1, `"a|b" ${PLAIN}`],
    ['/bin/echo `id`', 1, `"\`id\`" ${PLAIN}`],
    ['/bin/echo a&', 1, `"a&" ${PLAIN}`],
    ['/bin/echo >x', 1, `">x" ${PLAIN}`],
    ['/bin/echo <x', 1, `"<x" ${PLAIN}`],
    ['/bin/ls *', 1, `"*" ${PLAIN}`],
    ['/bin/echo a\\ b', 1, `"a\\" ${PLAIN}`],
    ['/bin/echo #x', 1, `"#x" ${PLAIN}`],
    ['/bin/echo {arg}{arg}', 1, `"{arg}{arg}" holds {arg} more than once`],
    ['/bin/echo x{arg}-{arg}.y', 1, `"x{arg}-{arg}.y" holds {arg} more than once`],
    ['/bin/true\n/bin/cp {arg} /var/{arg}/{arg}', 2, `"/var/{arg}/{arg}" holds {arg} more than once`],
    ['/bin/echo {arg}$', 1, `"{arg}$" ${PLAIN}`],
    ['/bin/echo {arg};x', 1, `"{arg};x" ${PLAIN}`],
    ['/bin/echo {arg', 1, `"{arg" ${PLAIN}`],
    ['/bin/echo {ARG}', 1, `"{ARG}" ${PLAIN}`],
    ['/bin/echo ~', 1, `"~" ${PLAIN}`],
    ['/bin/echo (x)', 1, `"(x)" ${PLAIN}`],
    ['/bin/échо', 1, `"/bin/échо" ${PLAIN}`],
    ['/bin/echo a\x0bb', 1, `"a\x0bb" ${PLAIN}`],
    ['/bin/echo a\rb', 1, `"a\rb" ${PLAIN}`],
    ['/bin/true\n/bin/echo $x\n/bin/ls ;', 2, `"$x" ${PLAIN}`],
    [`/bin/echo ${'a'.repeat(257)}`, 1, `"${'a'.repeat(40)}" ${PLAIN}`],
    [`/bin/echo ${Array(32).fill('a').join(' ')}`, 1, 'more than 32 words'],
  ];
  for (const [text, line, error] of cases) t.same(lineError(text), { line, error }, JSON.stringify(text.slice(0, 40)));
  t.equal(lineError(`/bin/echo ${'a'.repeat(256)}`), undefined, 'a word of 256 characters');
  t.equal(lineError(`/bin/echo ${Array(31).fill('a').join(' ')}`), undefined, '32 words');
  for (const ok of ['/bin/echo {arg}x', '/bin/echo x{arg}', '/bin/cat /var/spool/{arg}.job', '/bin/echo --name={arg}', '/bin/echo {arg} {arg}']) {
    t.equal(lineError(ok), undefined, `${ok}: {arg} once in a word`);
  }
  const many = (n: number) => Array.from({ length: n }, (_, i) => `/bin/c${i}`).join('\n');
  t.equal(parsed(many(256)).length, 256, '256 commands');
  t.same(lineError(`# head\n${many(257)}`), { line: 258, error: 'more than 256 commands' });
});

t.test('matching: exact words, first template wins, spaces as fwknopd splits', async (t) => {
  const list = parsed('/usr/bin/systemctl restart nginx\n/usr/bin/systemctl restart {arg}\n/bin/true\n/usr/bin/systemctl restart {arg}\n');
  t.same(allowedArgv('/usr/bin/systemctl restart nginx', list), { argv: ['/usr/bin/systemctl', 'restart', 'nginx'], line: 1 });
  t.same(allowedArgv('/usr/bin/systemctl restart ssh', list), { argv: ['/usr/bin/systemctl', 'restart', 'ssh'], line: 2 });
  t.same(allowedArgv('/bin/true', list), { argv: ['/bin/true'], line: 3 });
  t.same(allowedArgv('  /bin/true  ', list), { argv: ['/bin/true'], line: 3 }, 'outer spaces trimmed');
  t.same(allowedArgv('/usr/bin/systemctl   restart  nginx', list), { argv: ['/usr/bin/systemctl', 'restart', 'nginx'], line: 1 }, 'runs of spaces');
  for (const no of ['/bin/true x', 'true', '/bin/true/', '/bin/truE', '/usr/bin/systemctl restart', '/usr/bin/systemctl stop nginx',
    '/usr/bin/systemctl restart nginx now', '/usr/bin/systemctl Restart nginx', '/usr/bin/systemctl  restart', 'systemctl restart nginx',
    '/bin/true;/bin/false', '/bin/true ;', '/bin/sh -c /bin/true']) {
    t.equal(allowedArgv(no, list), undefined, no);
  }
  t.equal(allowedArgv('/bin/true', []), undefined, 'no templates');
});

t.test('{arg}: safe characters only, never an option, never empty, at most 128', async (t) => {
  const list = parsed('/usr/sbin/service {arg} restart\n/bin/echo {arg} {arg}\n');
  for (const a of ['nginx', 'a', '0', 'host.example:8080', 'user@h', 'a=b', 'a+b', 'a,b', 'a-b', 'x--', '_x', 'A.Z_9', 'a..b', 'x.']) {
    t.same(allowedArgv(`/usr/sbin/service ${a} restart`, list), { argv: ['/usr/sbin/service', a, 'restart'], line: 1 }, a);
  }
  for (const a of ['-rf', '--help', '-', '--', '-x=1', ';id', 'a;b', '$x', '$(id)', '`id`', 'a|b', 'a&b', '>f', '<f', '*', '?', '~', "'a'", '"a"',
    'a\\b', '(a)', '{a}', '[a]', '!', '#x', '%x', 'a^b', ':x', '@x', '=x', '+x', ',x', '/etc/x', 'a/b', '/', '..', '.', '.hidden', '../x', '.x', 'x/..']) {
    t.equal(allowedArgv(`/usr/sbin/service ${a} restart`, list), undefined, a);
  }
  t.same(allowedArgv(`/bin/echo ${'a'.repeat(128)} b`, list)?.argv[1]?.length, 128, '128 characters');
  t.equal(allowedArgv(`/bin/echo ${'a'.repeat(129)} b`, list), undefined, '129 characters');
  t.equal(allowedArgv('/bin/echo  b', list), undefined, 'an empty argument cannot be made with spaces');
  t.equal(allowedArgv('/usr/sbin/service restart', list), undefined, '{arg} is one argument, never none');
  t.equal(allowedArgv('/usr/sbin/service a b restart', list), undefined, 'nor two');
});

t.test('{arg} inside a word: the literal parts exactly, the argument as a whole word would be', async (t) => {
  const list = parsed('/bin/cat /var/spool/{arg}.job\n/bin/echo --name={arg}\n/bin/x a.{arg}+1\n');
  const spool = (a: string) => allowedArgv(`/bin/cat /var/spool/${a}.job`, list);
  for (const a of ['abc', 'a', 'x-1', 'host.example', 'a.job', 'A_9', 'u@h:1']) {
    t.same(spool(a), { argv: ['/bin/cat', `/var/spool/${a}.job`], line: 1 }, a);
  }
  for (const a of ['', '..', '../etc/passwd', '.hidden', '-x', 'a/b', '/x', 'a b', '$x', 'a;b', '*']) {
    t.equal(spool(a), undefined, JSON.stringify(a));
  }
  t.same(spool('a'.repeat(128))?.argv[1], `/var/spool/${'a'.repeat(128)}.job`, '128 characters');
  t.equal(spool('a'.repeat(129)), undefined, '129 characters');
  for (const no of ['/bin/cat /var/spool/abc.jobs', '/bin/cat /var/spool/abc', '/bin/cat /var/spool/abc.JOB', '/bin/cat /var/spoolabc.job',
    '/bin/cat /var/spool/.job', '/bin/cat x/var/spool/abc.job', '/bin/cat /var/spool//abc.job', '/bin/cat /var/spool/abc.job x']) {
    t.equal(allowedArgv(no, list), undefined, no);
  }
  t.same(allowedArgv('/bin/echo --name=web1', list), { argv: ['/bin/echo', '--name=web1'], line: 2 });
  t.equal(allowedArgv('/bin/echo --name=', list), undefined, 'never empty');
  t.equal(allowedArgv('/bin/echo --name=--x', list), undefined, 'never an option');
  t.equal(allowedArgv('/bin/echo --nameXweb1', list), undefined);
  // The literal parts are literal, regular-expression characters included.
  t.same(allowedArgv('/bin/x a.b+1', list), { argv: ['/bin/x', 'a.b+1'], line: 3 });
  t.same(allowedArgv('/bin/x a.b++1', list), { argv: ['/bin/x', 'a.b++1'], line: 3 }, "'+' is an argument character too");
  for (const no of ['/bin/x aXb+1', '/bin/x a.b1', '/bin/x a.bb1', '/bin/x a.+1', '/bin/x ab+1']) t.equal(allowedArgv(no, list), undefined, no);
});

t.test('the command itself: printable ASCII, 1..1024 characters', async (t) => {
  const list = parsed('/bin/echo {arg}\n/bin/true\n');
  for (const c of ['', ' ', '/bin/true\t', '/bin/echo\ta', '/bin/echo a\nb', '/bin/true\n', '/bin/true\r', '/bin/echo \x00', '/bin/echo \x7f',
    '/bin/echo é', '/bin/echo \u2028', '/bin/echo a\u00a0b', '\t/bin/true']) {
    t.equal(allowedArgv(c, list), undefined, Buffer.from(c).toString('hex'));
  }
  const pad = (n: number) => `/bin/true${' '.repeat(n - 9)}`;
  t.ok(allowedArgv(pad(1024), list), '1024 characters');
  t.equal(allowedArgv(pad(1025), list), undefined, '1025 characters');
});

// An independent reading of `{arg}` for the fuzz: a set of characters (no '/') and a first-character
// rule (a letter, digit or '_': never '-' or '.'); a word holding it matches its literal prefix and suffix exactly.
const FIRST = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_');
const SAFE = new Set([...FIRST, ...'.:@=+,-']);
const argOk = (a: string) => a.length >= 1 && a.length <= 128 && FIRST.has(a[0]!) && [...a].every((c) => SAFE.has(c));
const wordFits = (w: string, a: string) => {
  const at = w.indexOf(ARG);
  if (at === -1) return w === a;
  const pre = w.slice(0, at), post = w.slice(at + ARG.length);
  return a.length >= pre.length + post.length && a.startsWith(pre) && a.endsWith(post) && argOk(a.slice(pre.length, a.length - post.length));
};

t.test('fuzz: random files and commands never throw; every argv matches its template word for word', async (t) => {
  const rng = new Rng(SEED);
  const started = Date.now();
  const words = ['/usr/bin/systemctl', '/bin/echo', 'restart', 'nginx', '-t', '--now', ARG, ARG, 'a=b', '/etc/x', 'x',
    `/var/spool/${ARG}.job`, `--name=${ARG}`, `${ARG}.`, `a.${ARG}+1`];
  const junk = ' \t\r\n#;$|&`"\'\\*?<>(){}[]~!%^-_=+,.:/@aZ09é\x00\x7f';
  let files = 0, templatesSeen = 0, matched = 0, refusedArgs = 0;
  for (let i = 0; i < 3000 && Date.now() - started < 20_000; i++) {
    // A file: mostly good lines, sometimes junk.
    const lines: string[] = [];
    const nLines = rng.range(0, 12);
    for (let k = 0; k < nLines; k++) {
      if (rng.chance(0.1)) lines.push(rng.str(rng.range(0, 30), junk));
      else if (rng.chance(0.1)) lines.push(rng.pick(['', '# c', '  ', '\r']));
      else lines.push([rng.pick(['/bin/echo', '/usr/bin/systemctl', '/x']), ...Array.from({ length: rng.range(0, 4) }, () => rng.pick(words))].join(rng.pick([' ', '\t', '  '])));
    }
    let r: ReturnType<typeof parseAllowList>;
    try {
      r = parseAllowList(lines.join(rng.chance(0.2) ? '\r\n' : '\n'));
    } catch (err) {
      t.fail(`parseAllowList threw ${String(err)}`);
      return;
    }
    files++;
    const templates: CommandTemplate[] = r.ok ? r.commands : parsed('/bin/echo {arg}\n/usr/bin/systemctl restart {arg} -t\n');
    templatesSeen += templates.length;
    for (const tpl of templates) {
      if (!tpl.words[0]!.startsWith('/') || tpl.words.some((w) => w.split(ARG).length > 2 || !/^[A-Za-z0-9._:/@=+,%-]+$/.test(w.replace(ARG, 'x')))
        || tpl.patterns.length !== tpl.words.length || tpl.words.some((w, j) => (tpl.patterns[j] !== undefined) !== w.includes(ARG))) {
        t.fail(`a bad template was accepted: ${JSON.stringify(tpl)}`);
        return;
      }
    }
    // Commands: a template filled in (args random: often safe, sometimes not), or junk.
    for (let k = 0; k < 30; k++) {
      let cmd: string;
      if (templates.length && rng.chance(0.8)) {
        const tpl = rng.pick(templates);
        cmd = tpl.words.map((w) => (w.includes(ARG)
          ? w.replace(ARG, () => (rng.chance(0.6) ? rng.str(rng.range(1, 12), 'abcXYZ019._:/@=+,-') : rng.str(rng.range(0, 140), junk)))
          : w))
          .join(rng.chance(0.9) ? ' ' : '  ');
        if (rng.chance(0.1)) cmd = cmd.replace(/[a-z]/, 'Q');
      } else {
        cmd = rng.str(rng.range(0, 60), junk);
      }
      let got: ReturnType<typeof allowedArgv>;
      try {
        got = allowedArgv(cmd, templates);
      } catch (err) {
        t.fail(`allowedArgv threw ${String(err)} on ${JSON.stringify(cmd)}`);
        return;
      }
      if (!got) {
        refusedArgs++;
        // Nothing fits by the independent reading either (commands are printable ASCII, 1..1024, split on spaces).
        const argv = cmd.trim().split(/ +/);
        const fits = /^[\x20-\x7e]{1,1024}$/.test(cmd) && templates.find((x) => x.words.length === argv.length && x.words.every((w, j) => wordFits(w, argv[j]!)));
        if (fits) { t.fail(`a fitting command was refused: ${JSON.stringify({ seed: SEED, i, cmd, fits })}`); return; }
        continue;
      }
      matched++;
      const tpl = templates.find((x) => x.line === got.line);
      const ctx = JSON.stringify({ seed: SEED, i, cmd, got, tpl });
      if (!tpl || tpl.words.length !== got.argv.length) { t.fail(`argv length differs from its template: ${ctx}`); return; }
      for (let w = 0; w < tpl.words.length; w++) {
        const a = got.argv[w]!;
        if (!wordFits(tpl.words[w]!, a)) { t.fail(`word ${w} differs: ${ctx}`); return; }
      }
      if (got.argv.join(' ') !== cmd.trim().replace(/ +/g, ' ')) { t.fail(`argv is not the command's words: ${ctx}`); return; }
      // The first template that fits is the one named.
      const first = templates.find((x) => x.words.length === got.argv.length && x.words.every((w, j) => wordFits(w, got.argv[j]!)));
      if (first?.line !== got.line) { t.fail(`not the first fitting template: ${ctx}`); return; }
    }
  }
  t.ok(files > 1000, `${files} files`);
  t.ok(matched > 2000, `${matched} commands allowed`);
  t.ok(refusedArgs > 2000, `${refusedArgs} refused`);
  t.ok(templatesSeen > 1000, `${templatesSeen} templates`);
});

t.test('{arg} is never part of the program path: the allow file picks the program', async (t) => {
  for (const line of ['/usr/bin/{arg}', '/usr/{arg}/touch x', '/opt/{arg}.sh']) {
    const r = parseAllowList(`${line}\n`);
    t.notOk(r.ok, line);
    if (!r.ok) t.match(r.error, { line: 1, error: /\{arg\} cannot be part of the program's path/ });
  }
  t.ok(parseAllowList('/usr/bin/systemctl restart {arg}.service\n').ok, 'in an argument it is fine');
});
