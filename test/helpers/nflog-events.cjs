// Prints each NFLOG frame of a group as a JSON line {prefix, sport}: run inside a namespace,
// `node nflog-events.cjs GROUP`. Prints "ready" once the group is open; ends on SIGTERM.
const { Cap } = require('cap');
const group = Number(process.argv[2]);
const buf = Buffer.alloc(65536);
const c = new Cap();
c.open(`nflog:${group}`, '', 4 << 20, buf);
c.on('packet', (n) => {
  let prefix = '', sport = -1;
  for (let o = 4; o + 4 <= n;) {
    const len = buf.readUInt16LE(o), type = buf.readUInt16LE(o + 2) & 0x7fff;
    if (len < 4) break;
    if (type === 10) prefix = buf.toString('latin1', o + 4, o + len).replace(/\0.*$/s, '');
    if (type === 9) {
      const ip = o + 4, v = buf[ip] >> 4;
      const l4 = v === 4 ? ip + (buf[ip] & 15) * 4 : ip + 40;
      sport = buf.readUInt16BE(l4);
    }
    o += (len + 3) & ~3;
  }
  process.stdout.write(JSON.stringify({ prefix, sport }) + '\n');
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => { c.close(); process.exit(0); });
