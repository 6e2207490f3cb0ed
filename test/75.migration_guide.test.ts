// docs/migrating-from-node-tls.md: the idiomatic node:tls server of the guide, one options
// object run by tls.createServer and by ours (only the SNICallback's context differs:
// tls.createSecureContext there, new SslContext here), met by node's clients: each sees the
// same protocol, cipher, ALPN, curve, SNI certificate, mTLS / CRL answers and resumption.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { SslContext } from '../lib';
import { revocationPki } from './helpers/pki';
import { listen } from './helpers/sockets';
import { makeServer, Side } from './helpers/tls_parity';

const P = revocationPki();
const root = path.resolve(__dirname, '..');
const other = (() => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-guide-'));
  fs.writeFileSync(path.join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  execFileSync('openssl', ['req', '-x509', '-key', 'k.pem', '-out', 'c.pem', '-subj', '/CN=other.example', '-days', '30'], { cwd: dir, stdio: 'pipe' });
  execFileSync('openssl', ['dhparam', '-dsaparam', '-out', 'dh.pem', '2048'], { cwd: dir, stdio: 'pipe' });
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const out = { cert: read('c.pem'), key: read('k.pem'), dh: read('dh.pem') };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
})();
const ticketKeys = crypto.randomBytes(48);

/** the guide's options object; `sni` is the context class each side's SNICallback answers with */
function guideOptions(side: Side): Record<string, unknown> {
  // the same ciphers: after an SNI switch 1.0.2 takes the new context's list (api.md, Differences)
  const contextOptions = { cert: other.cert, key: other.key, ca: P.ca, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' };
  const otherContext = side === 'node' ? tls.createSecureContext(contextOptions) : new SslContext(contextOptions);
  return {
    cert: P.server,
    key: P.serverKey,
    ca: P.ca,
    requestCert: true,
    rejectUnauthorized: true,
    crl: P.crl,
    ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
    honorCipherOrder: true,
    ecdhCurve: 'P-256:P-384',
    dhparam: other.dh,
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['h2', 'http/1.1'],
    SNICallback: (name: string, cb: (err: Error | null, ctx?: unknown) => void) => cb(null, name === 'other.example' ? otherContext : undefined),
    sessionTimeout: 300,
    ticketKeys,
  };
}

interface Seen {
  outcome: string;
  protocol?: string | null;
  cipher?: string;
  alpn?: unknown;
  curve?: unknown;
  peer?: unknown;
  reused?: boolean;
  session?: Buffer;
  server?: { servername: unknown; alpn: unknown; authorized: boolean; subject: unknown };
  index?: number;
}

async function session(side: Side, clients: tls.ConnectionOptions[]): Promise<Seen[]> {
  const servers: Seen['server'][] = [];
  const server = makeServer(side, guideOptions(side), (s) => {
    servers.push({ servername: s.servername, alpn: s.alpnProtocol, authorized: s.authorized, subject: (s.getPeerCertificate() as tls.PeerCertificate).subject?.CN });
    s.on('error', () => {});
    s.end('hello');
  });
  server.on('tlsClientError', () => {});
  const accepted = new Set<net.Socket>();
  server.on('connection', (c: net.Socket) => accepted.add(c));
  const port = await listen(server);
  const out: Seen[] = [];
  try {
    let last: Buffer | undefined;
    for (const o of clients) {
      const seen = await new Promise<Seen>((resolve) => {
        const { session: offer, ...rest } = o;
        const c = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ca: [P.ca, other.cert], ...rest, ...(offer === undefined ? {} : { session: last }) });
        let result: Seen = { outcome: 'none' };
        c.on('session', (d: Buffer) => (result.session = d));
        c.on('secureConnect', () => {
          result = {
            ...result,
            outcome: 'secureConnect',
            protocol: c.getProtocol(),
            cipher: c.getCipher().name,
            alpn: c.alpnProtocol,
            curve: (c.getEphemeralKeyInfo() as { name?: string }).name,
            peer: c.getPeerCertificate().subject?.CN,
            reused: c.isSessionReused(),
          };
        });
        c.on('data', () => {});
        c.on('error', (e: NodeJS.ErrnoException) => {
          if (result.outcome === 'none') result.outcome = e.code ?? e.message;
        });
        c.on('close', () => resolve(result));
      });
      if (seen.session) last = seen.session;
      out.push(seen);
    }
  } finally {
    for (const c of accepted) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return out.map((s, i) => ({ ...s, session: undefined, server: s.outcome === 'secureConnect' ? servers.shift() : undefined, index: i }));
}

const mtls = { cert: P.client, key: P.clientKey };
const clients: tls.ConnectionOptions[] = [
  // 0: an mTLS client asking for h2 with SNI localhost
  { ...mtls, servername: 'localhost', ALPNProtocols: ['http/1.1', 'h2'], ecdhCurve: 'P-384:P-256' },
  // 1: the same client again, offering the session it got (tickets are on: ticketKeys)
  { ...mtls, servername: 'localhost', ALPNProtocols: ['http/1.1', 'h2'], session: Buffer.alloc(0) },
  // 2: SNI other.example: the other context's certificate
  { ...mtls, servername: 'other.example', ALPNProtocols: ['http/1.1'] },
  // 3: a revoked client certificate
  { cert: P.revoked, key: P.revokedKey, servername: 'localhost' },
  // 4: no client certificate
  { servername: 'localhost' },
  // 5: a TLS 1.1 client (below minVersion)
  { ...mtls, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
  // 6: an ALPN list with nothing in common
  { ...mtls, servername: 'localhost', ALPNProtocols: ['spdy/3'] },
];

test('the guide compiles its example with these options (docs/06 compiles it) and names every one of them', () => {
  const guide = fs.readFileSync(path.join(root, 'docs', 'migrating-from-node-tls.md'), 'utf8');
  for (const name of Object.keys(guideOptions('ours'))) expect({ name, inGuide: guide.includes(`${name}:`) }).toEqual({ name, inGuide: true });
});

test("the guide's node:tls server and ours give node's clients the same answers", async () => {
  const theirs = await session('node', clients);
  // node's answers first: the scenario means what it says
  expect(theirs.map((s) => s.outcome)).toEqual(['secureConnect', 'secureConnect', 'secureConnect', 'ECONNRESET', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', expect.stringMatching(/^ERR_SSL_/), 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL']);
  expect(theirs[0]).toMatchObject({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', alpn: 'h2', curve: 'prime256v1', peer: 'localhost', reused: false });
  expect(theirs[0].server).toEqual({ servername: 'localhost', alpn: 'h2', authorized: true, subject: 'good client' });
  expect(theirs[1].reused).toBe(true);
  expect(theirs[2].peer).toBe('other.example');
  const ours = await session('ours', clients);
  // node's server reports servername false on a resumed connection; ours the name (api.md, Differences)
  expect(theirs[1].server?.servername).toBe(false);
  expect(ours[1].server?.servername).toBe('localhost');
  for (const s of [...theirs, ...ours]) if (s.server) s.server.servername = s.index === 1 ? 'resumed' : s.server.servername;
  expect(ours).toEqual(theirs);
}, 60000);
