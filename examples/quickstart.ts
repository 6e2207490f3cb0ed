// The README's example, runnable: node dist/examples/quickstart.js
import { SslContext, SslSession, SessionCacheMode, handshake, generateSelfSigned } from 'openssl-session-cache';

const { cert, key } = generateSelfSigned({ commonName: 'localhost' });
// the man page's "full control": nothing is cached unless the application adds it
const server = new SslContext({
  cert, key, noTicket: true, sessionIdContext: 'my-app',
  sessionCacheMode: SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE,
});
const client = new SslContext({ role: 'client' });

let saved: SslSession | undefined;
server.on('newSession', (s) => { saved = s; });           // emitted after OpenSSL returns

const first = handshake(client, server);                    // full handshake
console.log(server.sessionCount);                           // 0: not stored automatically
server.addSession(saved!);                                  // SSL_CTX_add_session → true
const again = handshake(client, server, { session: first.clientSession });
console.log(again.resumed, server.stats.hits);              // true 1
server.removeSession(saved!);                               // revoke: next offer is a full handshake

// a session can live in one context's cache only; copy it for another context:
const copy = SslSession.fromDER(saved!.toDER());
console.log(copy.id.equals(saved!.id));                     // true
