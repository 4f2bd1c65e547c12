// getopt lets short options share one word: `-vcfoo` is `-v -c foo`. yargs reads that word as a
// group of flags, so expand it the getopt way first.

export function expandShortGroups(argv: readonly string[], withArg: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { out.push(...argv.slice(i)); break; }
    if (!a.startsWith('-') || a.startsWith('--') || a.length <= 2) { out.push(a); continue; }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      out.push(`-${c}`);
      if (withArg.has(c)) {
        if (j + 1 < a.length) out.push(a.slice(j + 1));
        break;
      }
    }
  }
  return out;
}
