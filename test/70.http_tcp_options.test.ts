// The TCP sockets under the HTTPS and HTTP/2 servers are set up as node:https's and
// node:http2's: TCP_NODELAY by default (without it, a response written in two writes —
// headers, then body, as Express does — waits for the peer's delayed ACK: ~40 ms per
// keep-alive response), and the noDelay / keepAlive / keepAliveInitialDelay options.
// Each scenario runs against node's own server first, then ours; what is asserted is the
// socket's state (the flag node:net keeps for what it set on the TCP handle), not timing.
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { createServer } from '../lib';
import { certs, listen, close, next } from './helpers/sockets';
import { clientTls, get, h2connect, h2get, servers, socketFlag } from './helpers/http_servers';

const { cert, key } = certs();

/** a response in two writes: the headers (flushed), then the body */
function twoWrites(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.flushHeaders();
  setImmediate(() => res.end(`body of ${req.url}`));
}

describe.each(servers)('%s', (_name, make) => {
  test('HTTPS keep-alive: sequential requests with two-write responses share one TCP socket, which has TCP_NODELAY', async () => {
    const server = make.https({ cert, key }, twoWrites);
    const tcp: net.Socket[] = [];
    server.on('connection', (s: net.Socket) => tcp.push(s));
    const port = await listen(server);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const used = new Set<net.Socket>();
      for (let i = 0; i < 5; i++) {
        const r = await get(port, `/${i}`, { agent });
        expect(r).toMatchObject({ status: 200, body: `body of /${i}` });
        used.add(r.socket);
      }
      expect(used.size).toBe(1);
      expect(tcp).toHaveLength(1);
      expect(socketFlag(tcp[0], 'kSetNoDelay')).toBe(true);
      expect(socketFlag(tcp[0], 'kSetKeepAlive')).toBe(false);
    } finally {
      agent.destroy();
      await close(server, tcp);
    }
  });

  test('HTTPS: noDelay: false leaves Nagle on; keepAlive: true turns SO_KEEPALIVE on', async () => {
    const server = make.https({ cert, key, noDelay: false, keepAlive: true, keepAliveInitialDelay: 1000 }, (_req, res) => res.end('ok'));
    const port = await listen(server);
    const accepted = next<net.Socket>(server, 'connection');
    const agent = new https.Agent({ keepAlive: false });
    try {
      expect((await get(port, '/', { agent })).body).toBe('ok');
      const s = await accepted;
      expect(socketFlag(s, 'kSetNoDelay')).toBe(false);
      expect(socketFlag(s, 'kSetKeepAlive')).toBe(true);
      expect(socketFlag(s, 'kSetKeepAliveInitialDelay')).toBe(1); // seconds, as node:net keeps it
    } finally {
      agent.destroy();
      await close(server);
    }
  });

  test('HTTP/2: streams with two-write responses on one session; the connection has TCP_NODELAY', async () => {
    const server = make.http2({ cert, key }, twoWrites);
    const tcp: net.Socket[] = [];
    const secure: net.Socket[] = [];
    server.on('connection', (s: net.Socket) => tcp.push(s));
    server.on('secureConnection', (s: net.Socket) => secure.push(s));
    const port = await listen(server);
    const session = h2connect(port);
    try {
      for (let i = 0; i < 5; i++) expect(await h2get(session, `/${i}`)).toEqual({ status: 200, body: `body of /${i}` });
      expect(tcp).toHaveLength(1);
      // node:http2's session asks the socket it runs on for TCP_NODELAY (node's TLSSocket keeps
      // the flag itself and passes it to the TCP handle; ours passes it to the TCP socket)
      expect(socketFlag(tcp[0], 'kSetNoDelay') === true || socketFlag(secure[0], 'kSetNoDelay') === true).toBe(true);
    } finally {
      session.destroy();
      await close(server, tcp);
    }
  });
});

describe.each([
  ['node', (o: tls.TlsOptions) => tls.createServer(o)],
  ['ours', (o: tls.TlsOptions) => createServer(o as never) as unknown as net.Server],
])('%s TLS server', (_name, make) => {
  test.each([
    [{}, false],
    [{ noDelay: true }, true],
  ])('options %j: TCP_NODELAY %s (node:tls leaves it off by default)', async (options, expected) => {
    const server = make({ cert, key, ...options });
    server.on('secureConnection', (s: net.Socket) => s.end());
    const port = await listen(server);
    const accepted = next<net.Socket>(server, 'connection');
    const client = tls.connect({ port, host: '127.0.0.1', ...clientTls() });
    try {
      expect(socketFlag(await accepted, 'kSetNoDelay')).toBe(expected);
    } finally {
      client.destroy();
      await close(server, [await accepted]);
    }
  });
});

test('our TLS server refuses a noDelay / keepAlive that is not a boolean, a keepAliveInitialDelay out of range', () => {
  expect(() => createServer({ cert, key, noDelay: 'yes' as never })).toThrow(TypeError);
  expect(() => createServer({ cert, key, keepAlive: 1 as never })).toThrow(TypeError);
  expect(() => createServer({ cert, key, keepAliveInitialDelay: -1 })).toThrow(RangeError);
});
