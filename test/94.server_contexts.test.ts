// A server's contexts after construction, as node:tls's tls.Server has them: addContext()
// (a context per server-name pattern, `*` one label, the last added match first, unused
// under an SNICallback) and setSecureContext() (new handshakes get the new certificate,
// connections already made keep theirs, sessions of the old context are not resumed).
// Each scenario runs against node's tls.createServer first, then ours, met by node's client.
import * as net from 'net';
import * as tls from 'tls';
import { createServer, generateSelfSigned } from '../lib';
import { listen, close } from './helpers/sockets';
import { Side } from './helpers/tls_parity';

const sides: Side[] = ['node', 'ours'];
const named = (cn: string) => generateSelfSigned({ commonName: cn, bits: 1024 });
const DEFAULT = named('default.test');
const WILD = named('wild.example.test');
const EXACT = named('exact.example.test');
const ROTATED = named('rotated.test');

interface Api extends net.Server {
  addContext(hostname: string, context: unknown): void;
  setSecureContext(options: Record<string, unknown>): void;
}

function server(side: Side, options: Record<string, unknown> = {}): Api {
  const o = { ...DEFAULT, ...options };
  const s = side === 'node' ? tls.createServer({ maxVersion: 'TLSv1.2', ...o } as tls.TlsOptions) : createServer(o as never);
  (s as net.Server).on('secureConnection', (c: tls.TLSSocket) => c.end('hi'));
  return s as unknown as Api;
}

/** the CN of the certificate the server presented, whether the offered session was resumed, the session to offer next */
async function presented(port: number, servername?: string, session?: Buffer): Promise<{ cn: string; reused: boolean; session: Buffer | undefined }> {
  const c = tls.connect({ port, host: '127.0.0.1', servername, session, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  let ticket = session;
  c.on('session', (s: Buffer) => (ticket = s));
  await new Promise<void>((resolve, reject) => {
    c.once('secureConnect', resolve);
    c.once('error', reject);
  });
  // a resumed session's client may hold no peer certificate: '' then
  const cn = String(c.getPeerCertificate()?.subject?.CN ?? '');
  const reused = c.isSessionReused();
  await new Promise<void>((resolve) => {
    c.resume();
    c.once('close', () => resolve());
  });
  return { cn, reused, session: ticket };
}

test.each(sides)('addContext (%s): a wildcard matches one label; the last added match wins; no SNI gets the default', async (side) => {
  const s = server(side);
  s.addContext('*.example.test', WILD);
  const port = await listen(s);
  try {
    expect((await presented(port, 'a.example.test')).cn).toBe('wild.example.test');
    expect((await presented(port, 'a.b.example.test')).cn).toBe('default.test');
    expect((await presented(port, 'example.test')).cn).toBe('default.test');
    expect((await presented(port)).cn).toBe('default.test');
    s.addContext('exact.example.test', EXACT);
    expect((await presented(port, 'exact.example.test')).cn).toBe('exact.example.test');
    expect((await presented(port, 'other.example.test')).cn).toBe('wild.example.test');
  } finally {
    await close(s);
  }
}, 60000);

test.each(sides)('addContext (%s): regular-expression characters in the name are literal', async (side) => {
  const s = server(side);
  s.addContext('a+b.example.test', WILD);
  const port = await listen(s);
  try {
    expect((await presented(port, 'aab.example.test')).cn).toBe('default.test');
  } finally {
    await close(s);
  }
}, 60000);

test.each(sides)('addContext (%s): unused when the server has an SNICallback', async (side) => {
  const s = server(side, { SNICallback: (_name: string, cb: (e: null, c?: unknown) => void) => cb(null, undefined) });
  s.addContext('*.example.test', WILD);
  const port = await listen(s);
  try {
    expect((await presented(port, 'a.example.test')).cn).toBe('default.test');
  } finally {
    await close(s);
  }
}, 60000);

test.each(sides)('addContext (%s): an empty name is refused with ERR_TLS_REQUIRED_SERVER_NAME', (side) => {
  const s = server(side);
  expect(() => s.addContext('', WILD)).toThrow(expect.objectContaining({ code: 'ERR_TLS_REQUIRED_SERVER_NAME' }));
});

test.each(sides)('setSecureContext (%s): new handshakes get the new certificate, with or without SNI; an open connection keeps its own', async (side) => {
  const s = server(side);
  const held: tls.TLSSocket[] = [];
  s.removeAllListeners('secureConnection');
  s.on('secureConnection', (c: tls.TLSSocket) => {
    if (c.servername === 'hold.test') held.push(c);
    else c.end('hi');
  });
  const port = await listen(s);
  try {
    const open = tls.connect({ port, host: '127.0.0.1', servername: 'hold.test', rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    await new Promise<void>((resolve, reject) => {
      open.once('secureConnect', resolve);
      open.once('error', reject);
    });
    s.setSecureContext(ROTATED);
    expect((await presented(port)).cn).toBe('rotated.test');
    expect((await presented(port, 'any.test')).cn).toBe('rotated.test');
    // the connection made before still works and still has the old certificate
    expect(open.getPeerCertificate().subject.CN).toBe('default.test');
    const echoed = new Promise<string>((resolve) => open.once('data', (d: Buffer) => resolve(d.toString())));
    held[0].write('still here');
    expect(await echoed).toBe('still here');
    open.destroy();
  } finally {
    for (const h of held) h.destroy();
    await close(s);
  }
}, 60000);

test.each(sides)('setSecureContext (%s): a session made under the old context is not resumed under the new one', async (side) => {
  const s = server(side);
  const port = await listen(s);
  try {
    const first = await presented(port);
    const again = await presented(port, undefined, first.session);
    expect(again.reused).toBe(true);
    s.setSecureContext(ROTATED);
    const after = await presented(port, undefined, first.session);
    expect(after.cn).toBe('rotated.test');
    expect(after.reused).toBe(false);
    // and the new context's own sessions resume
    const rotatedAgain = await presented(port, undefined, after.session);
    expect(rotatedAgain.reused).toBe(true);
  } finally {
    await close(s);
  }
}, 60000);

test('setSecureContext / addContext (ours): option names are checked as at construction; server-context options are refused', () => {
  const s = server('ours');
  expect(() => s.setSecureContext({ ...ROTATED, sessionTimout: 5 })).toThrow(expect.objectContaining({ code: 'ERR_TLS_UNKNOWN_OPTION' }));
  expect(() => s.addContext('x.test', { ...WILD, sessionCacheSize: 5 })).toThrow(expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }));
  expect(() => s.addContext('x.test', { key: WILD.key })).toThrow(expect.objectContaining({ code: 'ERR_TLS_NO_CERTIFICATE' }));
  expect(() => s.addContext(5 as unknown as string, WILD)).toThrow(TypeError);
  expect(() => s.setSecureContext(null as unknown as Record<string, unknown>)).toThrow(TypeError);
});
