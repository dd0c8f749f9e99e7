/**
 * sendmsg / recvmsg with SCM_RIGHTS, on non-blocking sockets, from the main
 * thread. The msghdr, its iovec, the control buffer and the payload live in
 * one block of native memory, because the kernel follows the pointers inside
 * the msghdr (koffi would marshal a JS struct into a temporary copy).
 *
 * Layouts (Linux, LP64: x86_64 and aarch64):
 *   struct msghdr  { void *name @0; u32 namelen @8; struct iovec *iov @16;
 *                    size_t iovlen @24; void *control @32; size_t controllen @40;
 *                    int flags @48; }                                  56 bytes
 *   struct iovec   { void *base @0; size_t len @8; }                   16 bytes
 *   struct cmsghdr { size_t len @0; int level @8; int type @12; data @16 }
 * CMSG_ALIGN rounds to 8: one fd needs CMSG_SPACE(4) = 24 bytes, its
 * cmsg_len is CMSG_LEN(4) = 20.
 */
import * as libc from './libc.js';

const MSGHDR = 56;
const IOVEC = 16;
const CMSGHDR = 16;
const align8 = (n: number): number => (n + 7) & ~7;

/** The most fds one message may carry (either way). */
export const MAX_FDS_PER_MESSAGE = 8;
/** The largest payload of one message. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

// Room for more fds than allowed, so that a client sending too many is
// seen (and its fds closed) rather than silently truncated by the kernel.
const CONTROL_BYTES = 512;

export type RecvResult =
  /** A message; `fds` are now this process's (close-on-exec) and the caller owns them. */
  | { kind: 'message'; data: Buffer; fds: number[]; truncated: boolean }
  /** The peer closed the connection (recvmsg returned 0 and carried no fds). */
  | { kind: 'eof' }
  /** Nothing to read now. */
  | { kind: 'again' }
  | { kind: 'error'; errno: number };

export type SendResult = { kind: 'sent' } | { kind: 'again' } | { kind: 'error'; errno: number };

/** Scratch native memory for one sendmsg/recvmsg at a time (main thread only). */
class MsgBlock {
  readonly base: bigint;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly iovAt = MSGHDR;
  private readonly ctlAt = MSGHDR + IOVEC;
  private readonly dataAt = MSGHDR + IOVEC + CONTROL_BYTES;
  readonly size = MSGHDR + IOVEC + CONTROL_BYTES + MAX_MESSAGE_BYTES;

  constructor() {
    this.base = libc.allocNative(this.size);
    const ab = libc.viewAt(this.base, this.size);
    this.view = new DataView(ab);
    this.bytes = new Uint8Array(ab);
  }

  private header(dataLen: number, controlLen: number): void {
    const v = this.view;
    this.bytes.fill(0, 0, MSGHDR + IOVEC);
    v.setBigUint64(16, this.base + BigInt(this.iovAt), true);
    v.setBigUint64(24, 1n, true);
    v.setBigUint64(32, controlLen > 0 ? this.base + BigInt(this.ctlAt) : 0n, true);
    v.setBigUint64(40, BigInt(controlLen), true);
    v.setBigUint64(this.iovAt, this.base + BigInt(this.dataAt), true);
    v.setBigUint64(this.iovAt + 8, BigInt(dataLen), true);
  }

  send(fd: number, data: Uint8Array, fds: readonly number[]): SendResult {
    if (data.length > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
    // The protocol allows MAX_FDS_PER_MESSAGE; the buffer holds more so that tests can send too many.
    if (CMSGHDR + 4 * fds.length > CONTROL_BYTES) throw new RangeError(`${fds.length} fds do not fit one control message`);
    if (data.length === 0) throw new RangeError('empty messages are not sent (a zero-length read means end of stream)');
    this.bytes.set(data, this.dataAt);
    let controlLen = 0;
    if (fds.length > 0) {
      const len = CMSGHDR + 4 * fds.length;
      controlLen = align8(len);
      this.bytes.fill(0, this.ctlAt, this.ctlAt + controlLen);
      this.view.setBigUint64(this.ctlAt, BigInt(len), true);
      this.view.setInt32(this.ctlAt + 8, libc.SOL_SOCKET, true);
      this.view.setInt32(this.ctlAt + 12, libc.SCM_RIGHTS, true);
      fds.forEach((f, i) => this.view.setInt32(this.ctlAt + CMSGHDR + 4 * i, f, true));
    }
    this.header(data.length, controlLen);
    const n = Number(libc.sendmsg(fd, this.base, libc.MSG_DONTWAIT | libc.MSG_NOSIGNAL));
    if (n < 0) {
      const e = libc.errno();
      return e === libc.E.EAGAIN ? { kind: 'again' } : { kind: 'error', errno: e };
    }
    // SOCK_SEQPACKET sends a message whole or not at all.
    return { kind: 'sent' };
  }

  recv(fd: number): RecvResult {
    this.header(MAX_MESSAGE_BYTES, CONTROL_BYTES);
    const n = Number(libc.recvmsg(fd, this.base, libc.MSG_DONTWAIT | libc.MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const e = libc.errno();
      if (e === libc.E.EAGAIN) return { kind: 'again' };
      return { kind: 'error', errno: e };
    }
    const flags = this.view.getInt32(48, true);
    const controlLen = Number(this.view.getBigUint64(40, true));
    const fds: number[] = [];
    for (let off = 0; off + CMSGHDR <= controlLen;) {
      const len = Number(this.view.getBigUint64(this.ctlAt + off, true));
      if (len < CMSGHDR || off + len > controlLen) break;
      const level = this.view.getInt32(this.ctlAt + off + 8, true);
      const type = this.view.getInt32(this.ctlAt + off + 12, true);
      if (level === libc.SOL_SOCKET && type === libc.SCM_RIGHTS) {
        for (let i = CMSGHDR; i + 4 <= len; i += 4) fds.push(this.view.getInt32(this.ctlAt + off + i, true));
      }
      off += align8(len);
    }
    if (n === 0 && fds.length === 0) return { kind: 'eof' };
    const data = Buffer.from(this.bytes.subarray(this.dataAt, this.dataAt + n));
    return { kind: 'message', data, fds, truncated: (flags & (libc.MSG_TRUNC | libc.MSG_CTRUNC)) !== 0 };
  }
}

let block: MsgBlock | null = null;
function scratch(): MsgBlock {
  block ??= new MsgBlock();
  return block;
}

/**
 * Sends one message with `fds` attached (SCM_RIGHTS), without blocking. The
 * kernel takes its own references: the caller keeps and still owns `fds`.
 */
export function sendWithFds(sock: number, data: Uint8Array, fds: readonly number[] = []): SendResult {
  return scratch().send(sock, data, fds);
}

/**
 * Receives one message and the fds that came with it, without blocking, with
 * MSG_CMSG_CLOEXEC (a plain read() would make the kernel drop passed fds).
 * The caller owns every returned fd, on every path, and must close them.
 */
export function recvWithFds(sock: number): RecvResult {
  return scratch().recv(sock);
}

/** Closes fds (ignoring errors): for every path that refuses what came in. */
export function closeAll(fds: Iterable<number>): void {
  for (const fd of fds) if (fd >= 0) libc.close(fd);
}
