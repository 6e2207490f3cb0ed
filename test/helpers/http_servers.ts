// The HTTPS / HTTP/2 servers of a parity test: node's own (node:https, node:http2) and ours
// (createHttpsServer, createHttp2SecureServer), made from the same options, and node's
// clients for them (TLS 1.2, this file's certificate trusted).
import * as http from 'http';
import * as http2 from 'http2';
import * as https from 'https';
import * as net from 'net';
import { createHttp2SecureServer, createHttpsServer } from '../../lib';
import * as tls from 'tls';
import { certs, close, listen } from './sockets';

export interface HttpServers {
  https(options: Record<string, unknown>, handler?: (req: any, res: any) => void): https.Server;
  http2(options: Record<string, unknown>, handler?: (req: any, res: any) => void): http2.Http2SecureServer;
}

export const nodeServers: HttpServers = {
  https: (o, h) => https.createServer(o, h),
  http2: (o, h) => http2.createSecureServer(o, h),
};

export const ourServers: HttpServers = {
  // node's types also name tls.Server's addContext / setSecureContext, which ours lack
  https: (o, h) => createHttpsServer(o as never, h) as unknown as https.Server,
  http2: (o, h) => createHttp2SecureServer(o as never, h) as unknown as http2.Http2SecureServer,
};

/** each scenario runs against node's servers first, then ours */
export const servers: [string, HttpServers][] = [
  ['node', nodeServers],
  ['ours', ourServers],
];

/** the value of a node:net socket field kept under a symbol (kSetNoDelay, kSetKeepAlive) */
export function socketFlag(socket: object, description: string): unknown {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === description);
  return sym === undefined ? undefined : (socket as Record<symbol, unknown>)[sym];
}

/** options for node's https clients: TLS 1.2, our certificate trusted */
export function clientTls(): { ca: string; servername: string; maxVersion: 'TLSv1.2' } {
  return { ca: certs().cert, servername: 'localhost', maxVersion: 'TLSv1.2' };
}

/** one HTTPS request with node's client; resolves with the status, body and the socket it used */
export function get(port: number, path: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string; socket: net.Socket; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ...clientTls(), ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), socket: req.socket!, res }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** an HTTP/2 client session (TLS 1.2) */
export function h2connect(port: number, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  return http2.connect(`https://127.0.0.1:${port}`, { ...clientTls(), ...options } as http2.SecureClientSessionOptions);
}

/** one request on an HTTP/2 session; resolves with the status and body */
export function h2get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    let status = 0;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
    req.on('error', reject);
    req.end();
  });
}

/** an HTTP/2 server of a parity test: node:http2's, or ours made from the same options */
export type H2Make = (o: Record<string, unknown>, h?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) => http2.Http2SecureServer;

/** node:http2 and createHttp2SecureServer on the native path */
export const h2Makers: [string, H2Make][] = [
  ['node:http2', (o, h) => http2.createSecureServer(o, h)],
  ['ours, native path', (o, h) => createHttp2SecureServer({ ...o, connectionPath: 'native' } as never, h as never) as unknown as http2.Http2SecureServer],
];

/**
 * A test file's HTTP/2 servers and the sockets and sessions it opened: `start(server)` listens
 * on a free port and tracks the server's TLS sockets; after each test everything in `open` is
 * destroyed and every started server closed.
 */
export function h2Fixture(): { open: { destroy(): unknown }[]; start(server: http2.Http2SecureServer): Promise<number> } {
  const open: { destroy(): unknown }[] = [];
  const listening: net.Server[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    for (const s of listening.splice(0)) await close(s);
  });
  return {
    open,
    start(server) {
      listening.push(server);
      server.on('secureConnection', (s: tls.TLSSocket) => open.push(s));
      return listen(server);
    },
  };
}
