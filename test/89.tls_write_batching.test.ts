// Writes that node:http batches (cork/uncork: headers, chunk framing and body of one
// response) leave the server as one TLS record, as node:tls's TLSWrap does with a writev.
// A TCP relay between a node client and the server counts the application-data records of
// each response; the same scenario runs against node:https first, then createHttpsServer.
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { createHttpsServer } from '../lib';
import { certs, close, listen, track } from './helpers/sockets';

const { cert, key } = certs();
const PART_A = Buffer.alloc(230, 'a');
const PART_B = Buffer.alloc(8, 'b');

/** a response written in two writes after its headers, as Express does */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  res.setHeader('content-type', 'text/plain');
  res.write(PART_A);
  res.end(PART_B);
}

/** relays TCP to `port`; counts the TLS application-data records sent by the server */
function relay(port: number): { server: net.Server; records: () => number; sockets: Set<net.Socket> } {
  let records = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up);
    up.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        if (pending[0] === 23) records++;
        pending = pending.subarray(5 + pending.readUInt16BE(3));
      }
      down.write(d);
    });
    up.on('end', () => down.end());
  });
  return { server, records: () => records, sockets };
}

async function recordsPerResponse(server: net.Server, requests: number): Promise<number[]> {
  const accepted = track(server);
  const port = await listen(server);
  const r = relay(port);
  const relayPort = await listen(r.server);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
  const perResponse: number[] = [];
  try {
    for (let i = 0; i < requests; i++) {
      const before = r.records();
      const body = await new Promise<Buffer>((resolve, reject) => {
        https
          .get({ agent, host: '127.0.0.1', port: relayPort, path: '/' }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve(Buffer.concat(parts)));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      expect(body).toEqual(Buffer.concat([PART_A, PART_B]));
      perResponse.push(r.records() - before);
    }
  } finally {
    agent.destroy();
    await close(r.server, r.sockets);
    await close(server, accepted);
  }
  return perResponse;
}

test('keep-alive responses written as headers + write + end: one TLS record each, node:https and ours', async () => {
  const node = await recordsPerResponse(https.createServer({ cert, key }, handler), 3);
  expect(node).toEqual([1, 1, 1]);
  const ours = await recordsPerResponse(createHttpsServer({ cert, key }, handler), 3);
  expect(ours).toEqual(node);
});
