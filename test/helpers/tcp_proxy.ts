// A loopback TCP proxy for fault injection: every connection to the proxy is forwarded to
// 127.0.0.1:target, and each one (numbered from 1 in accept order) can be passed, held
// (nothing forwarded either way until released, the bytes kept) or blackholed (bytes
// dropped both ways, the sockets left open: a NAT or firewall that silently forgets an idle
// flow). `policy(n)` decides the mode a connection starts in.
import * as net from 'net';

export type ProxyMode = 'pass' | 'hold' | 'blackhole';

interface Link {
  n: number;
  client: net.Socket;
  upstream: net.Socket;
  mode: ProxyMode;
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

export class TcpProxy {
  readonly #server: net.Server;
  readonly #links = new Map<number, Link>();
  #count = 0;
  port = 0;
  /** the mode each new connection starts in (default: pass) */
  policy: (n: number) => ProxyMode = () => 'pass';

  constructor(readonly target: number) {
    this.#server = net.createServer((client) => this.#accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** connections accepted so far */
  get accepted(): number {
    return this.#count;
  }

  #accept(client: net.Socket): void {
    const n = ++this.#count;
    const upstream = net.connect(this.target, '127.0.0.1');
    const link: Link = { n, client, upstream, mode: this.policy(n), held: { toUpstream: [], toClient: [] } };
    this.#links.set(n, link);
    const forward = (from: net.Socket, to: net.Socket, queue: Buffer[]) =>
      from.on('data', (d: Buffer) => {
        if (link.mode === 'pass') to.write(d);
        else if (link.mode === 'hold') queue.push(d);
      });
    forward(client, upstream, link.held.toUpstream);
    forward(upstream, client, link.held.toClient);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#links.delete(n);
    };
    // a blackholed flow never tells either side it is gone
    client.on('close', () => link.mode !== 'blackhole' && end());
    upstream.on('close', () => link.mode !== 'blackhole' && end());
    client.on('error', () => {});
    upstream.on('error', () => {});
  }

  /** sets the mode of connection n; releasing a hold forwards what it kept */
  set(n: number, mode: ProxyMode): void {
    const link = this.#links.get(n);
    if (!link) throw new Error(`no proxied connection ${n}`);
    link.mode = mode;
    if (mode === 'pass') {
      for (const d of link.held.toUpstream.splice(0)) link.upstream.write(d);
      for (const d of link.held.toClient.splice(0)) link.client.write(d);
    } else if (mode === 'blackhole') {
      link.held.toUpstream.length = 0;
      link.held.toClient.length = 0;
    }
  }

  /** resolves once connection n has been accepted */
  async connection(n: number): Promise<void> {
    while (this.#count < n) await new Promise<void>((r) => this.#server.once('connection', () => setImmediate(r)));
  }

  async close(): Promise<void> {
    for (const l of this.#links.values()) {
      l.client.destroy();
      l.upstream.destroy();
    }
    this.#links.clear();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
