// One scenario, two servers: node:tls's own createServer and ours, each met by node's own
// client (maxVersion TLSv1.2). observe() reports what the server's events and the client
// saw, so a test can require node's answer first and then the same answer from ours.
import * as net from 'net';
import * as tls from 'tls';
import { createServer } from '../../lib';
import { listen } from './sockets';

export type Side = 'node' | 'ours';

export interface ServerView {
  authorized: boolean;
  authorizationError: unknown;
  servername: unknown;
  alpnProtocol: unknown;
  ephemeralKeyInfo: unknown;
  protocol: string | null;
}

export interface ClientView {
  /** 'secureConnect' or the error's code */
  outcome: string;
  alpnProtocol?: unknown;
  cipher?: string;
  ephemeralKeyInfo?: unknown;
  protocol?: string | null;
  /** the subjects' CNs of getPeerCertificate(true), following issuerCertificate */
  chain?: string[];
  /** what the server wrote after the handshake */
  received?: string;
}

export interface Observed {
  /** the server's 'secureConnection' socket, seen as node:tls names its fields */
  secureConnection?: ServerView;
  /** the server's 'tlsClientError': the error's code and the socket's peer address */
  tlsClientError?: { code: unknown; remoteAddress: unknown; remotePort: unknown };
  client: ClientView;
}

/** a server of `side` made from the same options object */
export function makeServer(side: Side, options: Record<string, unknown>, onSecure: (s: tls.TLSSocket) => void): net.Server {
  if (side === 'node') return tls.createServer({ maxVersion: 'TLSv1.2', ...options } as tls.TlsOptions, onSecure);
  return createServer(options as never, onSecure as never) as unknown as net.Server;
}

/** one connection of node's client to a server of `side`; resolves once both ends are done */
export async function observe(side: Side, serverOptions: Record<string, unknown>, clientOptions: tls.ConnectionOptions = {}): Promise<Observed> {
  const observed: Observed = { client: { outcome: 'none' } };
  let serverDone!: () => void;
  const serverSettled = new Promise<void>((r) => (serverDone = r));
  const server = makeServer(side, serverOptions, (s) => {
    observed.secureConnection = {
      authorized: s.authorized,
      authorizationError: s.authorizationError,
      servername: s.servername,
      alpnProtocol: s.alpnProtocol,
      ephemeralKeyInfo: s.getEphemeralKeyInfo(),
      protocol: s.getProtocol(),
    };
    s.on('error', () => {});
    s.end('hello');
    serverDone();
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, s: tls.TLSSocket | undefined) => {
    observed.tlsClientError ??= { code: err.code, remoteAddress: s?.remoteAddress, remotePort: typeof s?.remotePort };
    serverDone();
  });
  const connections = new Set<net.Socket>();
  server.on('connection', (c: net.Socket) => connections.add(c));
  const port = await listen(server);
  try {
    await new Promise<void>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ...clientOptions });
      let received = '';
      c.on('secureConnect', () => {
        const cert = c.getPeerCertificate(true);
        const chain: string[] = [];
        for (let x: tls.DetailedPeerCertificate | undefined = cert; x && x.subject && chain.length < 5; x = x.issuerCertificate === x ? undefined : x.issuerCertificate) {
          chain.push(x.subject.CN as string);
        }
        observed.client = {
          outcome: 'secureConnect',
          alpnProtocol: c.alpnProtocol,
          cipher: c.getCipher().name,
          ephemeralKeyInfo: c.getEphemeralKeyInfo(),
          protocol: c.getProtocol(),
          chain,
        };
      });
      c.on('data', (d: Buffer) => (received += d.toString()));
      c.on('error', (e: NodeJS.ErrnoException) => {
        if (observed.client.outcome === 'none') observed.client = { outcome: e.code ?? e.message };
      });
      c.on('close', () => {
        if (observed.client.outcome === 'secureConnect') observed.client.received = received;
        resolve();
      });
    });
    await serverSettled;
  } finally {
    for (const c of connections) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return observed;
}
