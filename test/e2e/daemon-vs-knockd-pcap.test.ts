// The side-by-side cases against the real knockd (daemon-vs-knockd.test.ts) with Matching = pcap:
// both matching paths must give the same outcomes and, without a flood, the same log lines.
process.env['SESAME_TEST_MATCHING'] = 'pcap';
await import('./daemon-vs-knockd.test.js');
