import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'reset' | 'hang';

export interface ReceivedRequest {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reply: Reply;
}

/** A loopback webhook receiver answering from a script (the last entry repeats); counts every TCP connection. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;

  constructor(public script: Reply[] = [{ status: 200 }]) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
        this.requests.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), reply });
        if (reply === 'reset') req.socket.resetAndDestroy();
        else if (reply === 'hang') return;
        else res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on `host` (a loopback address) and a free port, or `port` (to come back where it was after `close`). */
  async listen(host: string, port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
