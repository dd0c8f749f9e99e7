/**
 * The client side of the fd channel (docs/fd-channel.md): receive fds from
 * the daemon (completion and async-event fds, the memfds behind MRs, the
 * command fd for ibv_import_device) and hand memfds in to register as MRs.
 *
 * Nothing here blocks Node's event loop: the socket and the event fds are
 * non-blocking and woken by libuv's poll. Linux only.
 *
 * ```ts
 * const fdc = await FdChannel.connect(opened.fd_socket, opened.fd_token);
 * const events = await fdc.completionEvents(channelHandle);
 * const mr = await fdc.mapMr(mrHandle);          // mr.memory: the same pages the device uses
 * mr.memory.write(0, Buffer.from('hello'));
 * const fired = await events.next(5000);        // [{ cq, userHandle }]
 * ```
 */
import * as libc from '../sys/libc.js';
import { fieldsOfDetail, RdmaError } from './errors.js';
import { SharedMemory, mapFd } from '../sys/memory.js';
import { connectPacket, type PacketSocket } from '../sys/packet-socket.js';
import {
  ASYNC_RECORD_SIZE, COMPLETION_RECORD_SIZE, decodeAsync, decodeCompletions,
  type AsyncRecord, type CompletionRecord, type FdErrorBody, type FdOp,
} from '../wire/fd-protocol.js';
import { closeAll, MAX_FDS_PER_MESSAGE, MAX_MESSAGE_BYTES } from '../sys/scm.js';

export type { AsyncRecord, CompletionRecord } from '../wire/fd-protocol.js';
export { defaultFdSocket } from '../wire/fd-protocol.js';
export { SharedMemory } from '../sys/memory.js';

/**
 * A request the daemon refused: an {@link RdmaError} with the gRPC status the
 * same failure has over gRPC (`code`), the broker's stable code (`rdmaError`)
 * and, for device errors, `errno` and `call`.
 */
export class FdChannelError extends RdmaError {
  constructor(e: FdErrorBody, what: string) {
    // The record's details (the same ErrorInfo a gRPC call's trailer carries) when present, else its flat fields.
    const fields = fieldsOfDetail(e.details) ?? { rdmaError: e.code, errno: e.errno, call: e.call, wrIndex: e.wr_index ?? -1 };
    super({ code: e.status, details: e.message, ...fields, what: `fd channel ${what}` });
    this.name = 'FdChannelError';
  }

  /** The status name ("NOT_FOUND"), as codeName. */
  get statusName(): string {
    return this.codeName;
  }
}

type Handle = number | bigint | string;
const h = (v: Handle): number => Number(v);

interface Pending {
  op: string;
  resolve: (r: { reply: Record<string, unknown>; fds: number[] }) => void;
  reject: (e: Error) => void;
}

export interface MappedMr {
  handle: number;
  /** The MR's pages, mapped into this process (close it when done; the MR itself lives on). */
  memory: SharedMemory;
  /** The MR's address as the device knows it: use it (+ offset) in SGEs and as remote_addr. */
  addr: bigint;
  length: number;
  lkey: number;
  rkey: number;
}

export interface RegisteredMr {
  handle: number;
  device: string;
  addr: bigint;
  length: number;
  lkey: number;
  rkey: number;
}

export interface RegMrOptions {
  /** The PD handle. */
  pd: Handle;
  /** A memfd (created with MFD_ALLOW_SEALING) or dma-buf fd; the caller keeps it. */
  fd: number;
  length: number;
  /** Page-aligned offset in the memfd (default 0). */
  offset?: number;
  /** Access flags: a number or names (["LOCAL_WRITE", "REMOTE_WRITE"]). */
  access?: number | string[];
  userHandle?: Handle;
  source?: 'memfd' | 'dmabuf';
  iova?: number;
}

/** One connection of the fd channel, bound to one session. */
export class FdChannel {
  private readonly pending: Pending[] = [];
  private nextId = 1;
  private closedWith: Error | null = null;
  /** What the daemon said when binding. */
  session = '';
  tenant = '';

  private constructor(private readonly sock: PacketSocket) {
    sock.start({
      onMessage: (data, fds) => this.onReply(data, fds),
      onClose: (reason) => this.fail(new Error(`fd channel closed: ${reason}`)),
    });
  }

  /**
   * Connects to the daemon's fd socket and binds the connection with a
   * one-time token (SessionOpened.fd_token, or SessionService.IssueFdToken).
   */
  static async connect(path: string, token: string, timeoutMs = 5000): Promise<FdChannel> {
    const c = new FdChannel(await connectPacket(path, timeoutMs));
    try {
      const { reply } = await c.request('bind', { token });
      c.session = String(reply.session ?? '');
      c.tenant = String(reply.tenant ?? '');
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Whether the open connection keeps the process alive (default true). */
  ref(on: boolean): void {
    this.sock.ref(on);
  }

  private onReply(data: Buffer, fds: number[]): void {
    const p = this.pending.shift();
    let reply: Record<string, unknown>;
    try {
      reply = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      closeAll(fds);
      p?.reject(new Error('fd channel: a reply that is not JSON'));
      return;
    }
    if (!p) {
      closeAll(fds);
      return;
    }
    if (reply.ok !== true) {
      closeAll(fds);
      p.reject(new FdChannelError(reply.error as FdErrorBody, p.op));
      return;
    }
    if (reply.fds !== fds.length) {
      closeAll(fds);
      p.reject(new Error(`fd channel: expected ${String(reply.fds)} fds, got ${fds.length}`));
      return;
    }
    p.resolve({ reply, fds });
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /**
   * Sends one request (with fds, which the caller keeps) and resolves with
   * the reply and the fds it carried, which the caller then owns.
   */
  request(op: FdOp, fields: Record<string, unknown> = {}, fds: readonly number[] = []): Promise<{ reply: Record<string, unknown>; fds: number[] }> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (fds.length > MAX_FDS_PER_MESSAGE) return Promise.reject(new RangeError(`at most ${MAX_FDS_PER_MESSAGE} fds per request`));
    const body = Buffer.from(JSON.stringify({ ...fields, id: this.nextId++, op }));
    if (body.length > MAX_MESSAGE_BYTES) return Promise.reject(new RangeError(`a request is at most ${MAX_MESSAGE_BYTES} bytes`));
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (!this.sock.send(body, fds)) {
        this.pending.pop();
        reject(this.closedWith ?? new Error('fd channel closed'));
      }
    });
  }

  private async oneFd(op: FdOp, fields: Record<string, unknown>): Promise<{ reply: Record<string, unknown>; fd: number }> {
    const { reply, fds } = await this.request(op, fields);
    if (fds.length !== 1) {
      closeAll(fds);
      throw new Error(`fd channel: ${op} returned ${fds.length} fds`);
    }
    return { reply, fd: fds[0]! };
  }

  /** The completion events of a completion channel: which of its CQs fired. */
  async completionEvents(channel: Handle): Promise<EventFd<CompletionRecord>> {
    const { fd } = await this.oneFd('get_fd', { handle: h(channel) });
    return new EventFd(fd, COMPLETION_RECORD_SIZE, decodeCompletions);
  }

  /** The session's async events (object and device/port events). */
  async asyncEvents(): Promise<EventFd<AsyncRecord>> {
    const { fd } = await this.oneFd('async_fd', {});
    return new EventFd(fd, ASYNC_RECORD_SIZE, decodeAsync);
  }

  /** The raw memfd behind an MR (the caller owns and closes it), with where the MR starts in it. */
  async mrFd(mr: Handle): Promise<{ fd: number; offset: number; length: number; addr: bigint; lkey: number; rkey: number }> {
    const { reply, fd } = await this.oneFd('get_fd', { handle: h(mr) });
    return { fd, offset: Number(reply.offset), length: Number(reply.length), addr: BigInt(reply.addr as number), lkey: Number(reply.lkey), rkey: Number(reply.rkey) };
  }

  /** Maps an MR's memory into this process: the same pages the daemon registered. */
  async mapMr(mr: Handle): Promise<MappedMr> {
    const r = await this.mrFd(mr);
    try {
      const memory = mapFd(r.fd, r.offset, r.length);
      return { handle: h(mr), memory, addr: r.addr, length: r.length, lkey: r.lkey, rkey: r.rkey };
    } finally {
      libc.close(r.fd); // the mapping keeps its own dup
    }
  }

  /** Registers an MR over a memfd (or dma-buf) this process hands in; the caller keeps its fd. */
  async regMr(o: RegMrOptions): Promise<RegisteredMr> {
    const { reply } = await this.request('reg_mr', {
      pd: h(o.pd), length: o.length, offset: o.offset ?? 0, access: o.access, source: o.source ?? 'memfd',
      user_handle: o.userHandle === undefined ? undefined : String(o.userHandle), iova: o.iova,
    }, [o.fd]);
    return {
      handle: Number(reply.handle), device: String(reply.device), addr: BigInt(reply.addr as number),
      length: Number(reply.length), lkey: Number(reply.lkey), rkey: Number(reply.rkey),
    };
  }

  /**
   * Shared memory of `length` bytes registered as an MR: a sealed memfd
   * created and mapped here, handed in, and registered over the same pages.
   */
  async regSharedMr(pd: Handle, length: number, access?: number | string[], userHandle?: Handle): Promise<MappedMr> {
    const memory = SharedMemory.create(length, 'rdma-broker-client-mr');
    try {
      const r = await this.regMr({ pd, fd: memory.fd, length, access, userHandle });
      return { handle: r.handle, memory, addr: r.addr, length: r.length, lkey: r.lkey, rkey: r.rkey };
    } catch (e) {
      memory.close();
      throw e;
    }
  }

  /**
   * For ibv_import_device: the command fd of the tenant's context on `device`
   * and the kernel handles of the PDs/MRs named (for ibv_import_pd/_mr).
   * UNIMPLEMENTED where the device does not support import (rxe, the sim).
   */
  async importDevice(device: string, handles: Handle[] = []): Promise<{ fd: number; objects: { handle: number; type: string; kernelHandle: number }[] }> {
    const { reply, fd } = await this.oneFd('import_device', { device, handles: handles.map(h) });
    const objs = (reply.objects as { handle: number; type: string; kernel_handle: number }[]).map((o) => ({ handle: o.handle, type: o.type, kernelHandle: o.kernel_handle }));
    return { fd, objects: objs };
  }

  /** Closes the connection (fds already received stay open). */
  close(): void {
    this.fail(new Error('fd channel closed'));
    this.sock.close('closed by the client');
  }
}

/**
 * An event fd from the daemon (a pipe of fixed-size records): read what is
 * there, or wait for more without blocking the event loop. End of file (the
 * channel or session is gone) ends it.
 */
export class EventFd<T> {
  private watch: libc.FdWatch | null = null;
  private waiters: { resolve: (r: T[]) => void; timer: NodeJS.Timeout | null }[] = [];
  private readonly buf: Buffer;
  private rest: Buffer = Buffer.alloc(0);
  private fdValue: number;
  /** True once the daemon closed its end (the object is gone). */
  ended = false;

  /** Takes ownership of `fd`. */
  constructor(fd: number, private readonly recordSize: number, private readonly decode: (b: Buffer) => T[]) {
    this.fdValue = fd;
    this.buf = Buffer.alloc(recordSize * 256);
    // The passed read end is blocking; this process only reads when polled.
    const fl = libc.fcntl(fd, libc.F_GETFL, 0);
    if (fl >= 0) libc.fcntl(fd, libc.F_SETFL, fl | libc.O_NONBLOCK);
  }

  /** The fd (for your own poll loop); -1 after close. */
  get fd(): number {
    return this.fdValue;
  }

  /** Whatever records are there now, without waiting. */
  read(): T[] {
    if (this.fdValue < 0 || this.ended) return [];
    const out: T[] = [];
    for (;;) {
      const n = Number(libc.read(this.fdValue, this.buf, this.buf.length));
      if (n < 0) break; // EAGAIN (or an error: nothing to read either way)
      if (n === 0) {
        this.ended = true;
        break;
      }
      const chunk = this.rest.length ? Buffer.concat([this.rest, this.buf.subarray(0, n)]) : Buffer.from(this.buf.subarray(0, n));
      const whole = chunk.length - (chunk.length % this.recordSize);
      out.push(...this.decode(chunk.subarray(0, whole)));
      this.rest = Buffer.from(chunk.subarray(whole));
      if (n < this.buf.length) break;
    }
    return out;
  }

  /**
   * The next records: at once if some are there, else when some arrive.
   * Resolves [] on timeout, at end of file, or when closed.
   */
  next(timeoutMs?: number): Promise<T[]> {
    const now = this.read();
    if (now.length > 0 || this.ended || this.fdValue < 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const w: { resolve: (r: T[]) => void; timer: NodeJS.Timeout | null } = { resolve, timer: null };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          this.rearm();
          resolve([]);
        }, timeoutMs);
      }
      this.waiters.push(w);
      this.rearm();
    });
  }

  private rearm(): void {
    if (this.fdValue < 0) return;
    const want = this.waiters.length > 0;
    if (want && !this.watch) {
      this.watch = libc.watchFd(this.fdValue, { readable: true }, () => this.onReadable());
    } else if (!want && this.watch) {
      this.watch.close();
      this.watch = null;
    }
  }

  private onReadable(): void {
    const recs = this.read();
    if (recs.length === 0 && !this.ended) return;
    const ws = this.waiters.splice(0);
    this.rearm();
    // All current waiters share one batch: the first gets the records, the others wake to read again.
    ws.forEach((w, i) => {
      if (w.timer) clearTimeout(w.timer);
      w.resolve(i === 0 ? recs : []);
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    while (!this.ended && this.fdValue >= 0) {
      for (const r of await this.next()) yield r;
    }
  }

  /** Closes the fd; pending waits resolve with []. Idempotent. */
  close(): void {
    if (this.fdValue < 0) return;
    this.watch?.close();
    this.watch = null;
    libc.close(this.fdValue);
    this.fdValue = -1;
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve([]);
    }
  }
}
