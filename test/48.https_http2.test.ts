// HTTPS and HTTP/2 over our TLS (OpenSSL 1.0.2), with clients no one here wrote: curl
// (HTTP/1.1 and --http2), Node's https.get with a session-reusing Agent, http2.connect.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http2 from 'http2';
import * as net from 'net';
import * as https from 'https';
import { createHttp2SecureServer, createHttpsServer, TLSSocket } from '../lib';
import { certs, listen } from './helpers/sockets';

const { cert, key } = certs();

// curl reads --cacert from a file: write the PEM once
const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'osc-ca-')), 'ca.pem');
fs.writeFileSync(caFile, cert);
const curlArgs = (args: string[]) => ['-sS', '--cacert', caFile, '--resolve', `localhost:${args[0]}:127.0.0.1`, ...args.slice(1)];
function runCurl(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('curl', curlArgs([String(port), ...args]), (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))),
  );
}

const seen: [string | false, boolean][] = [];
const record = (s: TLSSocket) => seen.push([s.alpnProtocol, s.isSessionReused()]);
beforeEach(() => {
  seen.length = 0;
});

test('createHttpsServer + curl (HTTP/1.1): two requests in one curl invocation, the second on a resumed session', async () => {
  const server = createHttpsServer({ cert, key }, (req, res) => res.end(`${req.method} ${req.url} HTTP/${req.httpVersion}\n`));
  server.on('secureConnection', record);
  const port = await listen(server);
  try {
    const out = await runCurl(port, ['--http1.1', '-H', 'Connection: close', `https://localhost:${port}/a`, `https://localhost:${port}/b`]);
    expect(out).toBe('GET /a HTTP/1.1\nGET /b HTTP/1.1\n');
    expect(seen).toEqual([
      ['http/1.1', false],
      ['http/1.1', true],
    ]);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('createHttp2SecureServer + curl --http2: ALPN picks h2, requests answered over HTTP/2', async () => {
  const server = createHttp2SecureServer({ cert, key, allowHTTP1: true }, (req, res) => res.end(`${req.url} HTTP/${req.httpVersion}\n`));
  server.on('secureConnection', record);
  const port = await listen(server);
  try {
    expect(await runCurl(port, ['--http2', `https://localhost:${port}/a`, `https://localhost:${port}/b`])).toBe('/a HTTP/2.0\n/b HTTP/2.0\n');
    expect(seen.map((s) => s[0])).toEqual(['h2']); // one connection, two streams
    // allowHTTP1: a client without h2 gets HTTP/1.1 on the same server
    expect(await runCurl(port, ['--http1.1', `https://localhost:${port}/c`])).toBe('/c HTTP/1.1\n');
    expect(seen[1][0]).toBe('http/1.1');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('curl --http2 in one invocation: a second connection negotiates h2 and resumes the first connection\'s session', async () => {
  const server = createHttp2SecureServer({ cert, key, allowHTTP1: true }, (req, res) => res.end(`${req.url} HTTP/${req.httpVersion}\n`));
  server.on('secureConnection', record);
  const port = await listen(server);
  try {
    // curl keeps one HTTP/2 connection for every request to the same origin, and a session
    // it had on an HTTP/2 connection the server closed is one it no longer offers (curl
    // 7.88, against node:http2 as well — docs/api.md). So the first request closes its
    // HTTP/1.1 connection and the second, --http2, must open a new one: curl offers the
    // session, our 1.0.2 cache resumes it, ALPN picks h2.
    const common = curlArgs([String(port)]);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'curl',
        [...common, '--http1.1', '-H', 'Connection: close', `https://localhost:${port}/a`, '--next', ...common, '--http2', `https://localhost:${port}/b`],
        (e, o, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(o)),
      ),
    );
    expect(out).toBe('/a HTTP/1.1\n/b HTTP/2.0\n');
    expect(seen).toEqual([
      ['http/1.1', false],
      ['h2', true],
    ]);
    expect(server.context.stats.hits).toBe(1);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('curl --http2 after the server closed its HTTP/2 session (GOAWAY): the same outcome on our server as on node:http2', async () => {
  // what curl offers on its second connection is curl's choice; the server's part is to
  // answer it as node:http2 does, whichever way curl goes
  const run = async (server: net.Server) => {
    const got: [string | false, boolean][] = [];
    server.on('secureConnection', (s: { alpnProtocol?: string | false | null; isSessionReused(): boolean }) => got.push([s.alpnProtocol ?? false, s.isSessionReused()]));
    const port = await listen(server);
    try {
      const out = await runCurl(port, ['--http2', `https://localhost:${port}/a`, `https://localhost:${port}/b`]);
      return { out, got };
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  };
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) =>
    res.end(`${req.url} HTTP/${req.httpVersion}\n`, () => req.stream.session?.close());
  const ours = await run(createHttp2SecureServer({ cert, key, allowHTTP1: true }, handler as never) as unknown as net.Server);
  const node = await run(http2.createSecureServer({ cert, key, allowHTTP1: true, maxVersion: 'TLSv1.2' }, handler) as unknown as net.Server);
  expect(ours.out).toBe('/a HTTP/2.0\n/b HTTP/2.0\n');
  expect(ours.got.map((g) => g[0])).toEqual(['h2', 'h2']); // two connections
  expect(ours).toEqual(node);
});

test("Node's https.get with an Agent that reuses sessions: the second request resumes", async () => {
  const server = createHttpsServer({ cert, key }, (req, res) => res.end('ok'));
  server.on('secureConnection', record);
  const port = await listen(server);
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10, maxVersion: 'TLSv1.2' });
  const get = () =>
    new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', servername: 'localhost', port, path: '/', agent, ca: cert }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  try {
    expect(await get()).toBe('ok');
    expect(await get()).toBe('ok');
    // https.Agent offers no ALPN: the server falls back to HTTP/1.1 without it
    expect(seen).toEqual([
      [false, false],
      [false, true],
    ]);
  } finally {
    agent.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test("Node's http2.connect: a request and its response over our TLS", async () => {
  const server = createHttp2SecureServer({ cert, key });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.respond({ ':status': 200, 'x-path': String(headers[':path']) });
    stream.end('from http2');
  });
  server.on('secureConnection', record);
  const port = await listen(server);
  const session = http2.connect(`https://localhost:${port}`, { ca: cert, maxVersion: 'TLSv1.2', host: '127.0.0.1' } as http2.SecureClientSessionOptions);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/x' });
      let data = '';
      req.on('response', (h) => expect(h['x-path']).toBe('/x'));
      req.on('data', (c) => (data += c));
      req.on('end', () => resolve(data));
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('from http2');
    expect(seen).toEqual([['h2', false]]);
  } finally {
    session.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
