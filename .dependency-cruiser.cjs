// The layer order of lib/ (docs/architecture.md "Layers"): a folder may import its own files and folders of a
// lower rank, never a higher or equal one, and nothing may form a circle. test/unit/layers.test.ts
// runs this; `npx depcruise lib` shows violations.
const RANKS = {
  errors: -1, net: -1, // the error tree and the protocol type: importable from every layer
  fs: 0, log: 0, spa: 0, getopt: 0, totp: 0, events: 0,
  config: 1, gpg: 1, // gpg: the GnuPG runner (spawns gpg); its framing and policy are pure, in spa/
  matcher: 2, firewall: 2, actions: 2,
  onetime: 3, capture: 3, ruleset: 3, fleet: 3, hooks: 3, metrics: 3,
  engine: 4,
  daemon: 5, client: 5,
  cli: 6,
};

const folders = Object.keys(RANKS);

// The pure parts (docs/architecture.md): decisions and codecs that take their
// inputs (time included) as arguments and return results, so they are unit-tested exhaustively and
// cannot block, spawn or touch a file. They import no Node built-in but crypto, no npm package, and
// at run time only other pure modules (type-only imports of anything are fine). Pure files in
// folders that also do I/O are named one by one.
const PURE = '^lib/(' + [
  '(engine|matcher|spa|ruleset|errors|net|totp|events)/',
  'config/(address|cidr|errors|lines|tcpflags|types)[.]ts$',
  'firewall/(commands|nat-commands|validate)[.]ts$',
  'log/(messages|rate-limit)[.]ts$',
  'gpg/status[.]ts$',
  'fleet/(notes|seal|sealer|bounded-ids|clock|session|session-[a-z]+)[.]ts$',
].join('|') + ')';
const purityRules = [
  {
    name: 'pure-no-io',
    comment: 'a pure module imports no Node built-in but crypto',
    severity: 'error',
    from: { path: PURE },
    to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
  },
  {
    name: 'pure-no-packages',
    comment: 'a pure module imports no npm package',
    severity: 'error',
    from: { path: PURE },
    to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
  },
  {
    name: 'pure-imports-pure',
    comment: 'at run time a pure module imports only pure modules (so purity holds through the whole closure)',
    severity: 'error',
    from: { path: PURE },
    to: { path: '^lib/', pathNot: PURE, dependencyTypesNot: ['type-only'] },
  },
];
const layerRules = folders.map((from) => {
  const allowed = folders.filter((to) => to === from || RANKS[to] < RANKS[from]);
  const forbidden = folders.filter((to) => !allowed.includes(to));
  return {
    name: `layer-${from}`,
    comment: `lib/${from} (rank ${RANKS[from]}) may import only ${allowed.join(', ')}`,
    severity: 'error',
    from: { path: `^lib/${from}/` },
    to: { path: forbidden.length ? `^lib/(${forbidden.join('|')})/` : '^$' },
  };
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'known-folders',
      comment: 'every folder of lib/ has a rank',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^lib/', pathNot: `^lib/(${folders.join('|')})/` },
    },
    ...layerRules,
    ...purityRules,
    {
      name: 'redis-client-lazy',
      comment: 'the Redis client (ioredis, through lib/fleet/link and reads) is loaded by import() only, once a fleet is configured: a daemon without one does not hold its ~7 MB',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/fleet/' },
      to: { path: '^(lib/fleet/(link|reads)[.]ts$|node_modules/ioredis/)', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
  ],
  options: {
    // Type-only imports count: a type from above is still a dependency on above.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },

};
