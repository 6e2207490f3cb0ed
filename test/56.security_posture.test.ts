// SECURITY.md stays true: it covers every CVE that docs/semantics.md lists
// for 1.0.2h and every configure option of deps/build-openssl.js, and the defaults it
// claims hold in the library as built.
import * as fs from 'fs';
import * as path from 'path';
import { createServer, generateSelfSigned, handshake, SslContext } from '../lib';

const root = path.resolve(__dirname, '..');
const security = fs.readFileSync(path.join(root, 'SECURITY.md'), 'utf8');

/** CVE ids of docs/semantics.md (the shorthand "CVE-2016-2177, -2178" is expanded too) */
function semanticsCves(): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'semantics.md'), 'utf8');
  const section = text.slice(text.indexOf('Known vulnerabilities'));
  const ids: string[] = [];
  let year = '';
  for (const m of section.matchAll(/CVE-(\d{4})-(\d{4,5})|(?<=[\s,(])-(\d{4,5})\b/g)) {
    if (m[1]) {
      year = m[1];
      ids.push(`CVE-${m[1]}-${m[2]}`);
    } else if (year) ids.push(`CVE-${year}-${m[3]}`);
  }
  return [...new Set(ids)];
}

test('every CVE of docs/semantics.md has a row with the feature it touches and its status', () => {
  const cves = semanticsCves();
  expect(cves.length).toBeGreaterThanOrEqual(21);
  for (const id of cves) {
    const row = security.split('\n').find((l) => l.startsWith(`| ${id} |`));
    expect({ id, row: row !== undefined }).toEqual({ id, row: true });
    expect(row!.split('|').filter((c) => c.trim()).length).toBeGreaterThanOrEqual(4);
  }
});

test('every configure option of deps/build-openssl.js is documented', () => {
  const src = fs.readFileSync(path.join(root, 'deps', 'build-openssl.js'), 'utf8');
  const block = /const CONFIG_OPTIONS = \[([\s\S]*?)\];/.exec(src);
  expect(block).not.toBeNull();
  const options = [...block![1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
  expect(options).toEqual(expect.arrayContaining(['no-ssl2', 'no-ssl3', 'no-comp', 'no-hw', 'no-heartbeats']));
  for (const o of options) expect(security).toContain(`\`${o}`);
  // and the OpenSSL in use was really built with them
  const current = fs.readFileSync(path.join(root, 'deps', '.cache', 'current'), 'utf8').trim();
  const info = JSON.parse(fs.readFileSync(path.join(current, 'build-info.json'), 'utf8'));
  expect(info.options).toEqual(expect.arrayContaining(options));
});

test('it says how to report and how to use a later 1.0.2', () => {
  expect(security).toMatch(/## Reporting a vulnerability/);
  expect(security).toMatch(/OPENSSL_102_SRC=/);
  expect(security).toMatch(/## Threat model/);
});

test('servers from createServer run with tickets off: new sessions get an id and are cached', () => {
  const { cert, key } = generateSelfSigned({ bits: 1024, days: 1 });
  const server = createServer({ cert, key });
  const client = new SslContext({ role: 'client' });
  const r = handshake(client, server.context);
  expect(r.serverSession.id).toHaveLength(32); // a ticket server gives an empty id
  expect(server.context.sessionCount).toBe(1);
  r.clientSession.free();
  r.serverSession.free();
  client.free();
  server.context.free();
});

test('the addon installs no OCSP status callback; its one ticket key callback (setTicketKeys) uses HMAC-SHA256', () => {
  const files = fs.readdirSync(path.join(root, 'native'));
  const read = (f: string) => fs.readFileSync(path.join(root, 'native', f), 'utf8');
  const native = files.map(read).join('\n');
  expect(native).not.toMatch(/tlsext_status_cb|set_tlsext_status/);
  expect(native).not.toMatch(/heartbeat/i);
  // installed in one place, by setTicketKeys; CVE-2016-6302 needs a SHA-512 ticket HMAC
  expect(files.filter((f) => /SSL_CTX_set_tlsext_ticket_key_cb\(ctx_/.test(read(f)))).toEqual(['ssl_context_tickets.cc']);
  expect(read('ticket_keys.cc')).toMatch(/EVP_sha256\(\)/);
  expect(native).not.toMatch(/EVP_sha512/);
});

test('a default server has tickets off; ticketKeys turns them on', () => {
  const { cert, key } = generateSelfSigned({ commonName: 'localhost', bits: 1024 });
  const off = createServer({ cert, key });
  expect(off.context.ticketsEnabled).toBe(false);
  off.context.free();
  const on = createServer({ cert, key, ticketKeys: Buffer.alloc(48, 9) });
  expect(on.context.ticketsEnabled).toBe(true);
  on.context.free();
});
