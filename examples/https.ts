// HTTPS and HTTP/2 served by OpenSSL 1.0.2 with a plain node:http-style handler (the shape
// an Express app has: (req, res) => ...). Run: node dist/examples/https.js [port]
// then: curl --http2 -k https://localhost:8443/hello   or   curl --http1.1 -k ...
import type { IncomingMessage, ServerResponse } from 'http';
import type { Http2ServerRequest, Http2ServerResponse } from 'http2';
import { createHttp2SecureServer, generateSelfSigned } from 'openssl-session-cache';

const { cert, key } = generateSelfSigned({ commonName: 'localhost' });

// routes, as an Express app would declare them
const routes: Record<string, (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void> = {
  '/hello': (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello over HTTP/${req.httpVersion}\n`);
  },
  '/time': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ now: new Date().toISOString() }) + '\n');
  },
};

const server = createHttp2SecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
  const route = routes[(req.url ?? '/').split('?')[0]];
  if (!route) {
    res.statusCode = 404;
    res.end('not found\n');
    return;
  }
  route(req, res);
});

server.on('secureConnection', (socket) => {
  console.log(`${socket.remoteAddress}: ${socket.alpnProtocol || 'no ALPN'}, ${socket.isSessionReused() ? 'resumed' : 'full handshake'}`);
});

const port = Number(process.argv[2] ?? 8443);
server.listen(port, () => console.log(`https://localhost:${port}/hello (HTTP/2 and HTTP/1.1, OpenSSL 1.0.2)`));
