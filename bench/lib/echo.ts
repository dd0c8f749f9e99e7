/**
 * The transport floor: a bare grpc-js unary service on a unix socket, with no
 * protobuf and no broker. The request is raw bytes whose first 4 bytes
 * (little endian) say how long the reply must be, so each broker verb's
 * request and reply sizes can be matched exactly.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from './client.js';

const passthrough = (b: Buffer): Buffer => b;

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: '/bench.v1.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
};

/** Serves the echo service on `socket` (used in a child process: see echo-server.ts). */
export async function serveEcho(socket: string): Promise<grpc.Server> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 });
  const replies = new Map<number, Buffer>();
  server.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const req = call.request;
      const n = req.length >= 4 ? req.readUInt32LE(0) : 0;
      let rep = replies.get(n);
      if (!rep) replies.set(n, (rep = Buffer.alloc(n, 0x5a)));
      cb(null, rep);
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return server;
}

export class EchoClient {
  private readonly client: grpc.Client;
  private readonly md: grpc.Metadata;
  /** Calls answered so far. */
  calls = 0;

  constructor(socket: string, sessionHeader: { key: string; value: string }) {
    this.client = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    // The broker's calls carry the session token; so do these.
    this.md = new grpc.Metadata();
    this.md.set(sessionHeader.key, sessionHeader.value);
  }

  ready(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.client.waitForReady(Date.now() + timeoutMs, (e) => (e ? reject(e) : resolve())));
  }

  /** A request of `reqBytes` asking for a reply of `repBytes`. */
  static payload(reqBytes: number, repBytes: number): Buffer {
    const b = Buffer.alloc(Math.max(4, reqBytes), 0x61);
    b.writeUInt32LE(repBytes, 0);
    return b;
  }

  call(payload: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>('/bench.v1.Echo/Echo', passthrough, passthrough, payload, this.md, (e, r) => {
        if (e || !r) return reject(e);
        this.calls++;
        resolve(r);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
