// A webhook receiver for the e2e tests, run in a lab namespace: `node event-receiver.mjs HOST PORT
// MODE OUT`. MODE ok answers 204, fail answers 500, hang never answers. Each request is appended to
// OUT as one JSON line: {method, path, headers, body, at}.
import http from 'node:http';
import { appendFileSync } from 'node:fs';

const [host, port, mode, out] = process.argv.slice(2);
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    appendFileSync(out, JSON.stringify({ method: req.method, path: req.url, headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'), at: Date.now() }) + '\n');
    if (mode === 'ok') res.writeHead(204).end();
    else if (mode === 'fail') res.writeHead(500).end();
    // hang: no answer; the sender's timeout ends it
  });
}).listen(Number(port), host, () => process.stdout.write('listening\n'));
