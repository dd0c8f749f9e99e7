/**
 * RDMA netlink (NETLINK_RDMA, the kernel's nldev client that the `rdma` tool
 * and libibverbs' device discovery use): the kernel driver behind an RDMA
 * device, as its `enum rdma_driver_id` (rdma/ib_user_ioctl_verbs.h). This is
 * what libibverbs matches a provider by before any name: it reads
 * RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID of the device's uverbs char device and
 * picks the provider whose match table names that id, so the answer holds
 * whatever the device is called (an rxe device named `roce_a` has no driver
 * link in sysfs and no `rxe` in its name).
 *
 * Two requests on one non-blocking socket: a dump of the devices
 * (RDMA_NLDEV_CMD_GET: index and name), then RDMA_NLDEV_CMD_GET_CHARDEV
 * ("uverbs") for the one named. The kernel answers a request while it is
 * sent (and the next part of a dump while the previous one is read), so
 * every read finds its answer queued and nothing waits; a read that finds
 * none gives up (null) rather than block. Every loop is bounded.
 */
import * as libc from './libc.js';

/** The constants of linux/netlink.h and rdma/rdma_netlink.h these requests use. */
export const NL = {
  AF_NETLINK: 16,
  SOCK_RAW: 3,
  NETLINK_RDMA: 20,
  NLM_F_REQUEST: 0x1,
  NLM_F_MULTI: 0x2,
  NLM_F_DUMP: 0x300,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  RDMA_NL_NLDEV: 5,
  RDMA_NLDEV_CMD_GET: 1,
  RDMA_NLDEV_CMD_GET_CHARDEV: 15,
  RDMA_NLDEV_ATTR_DEV_INDEX: 1,
  RDMA_NLDEV_ATTR_DEV_NAME: 2,
  RDMA_NLDEV_ATTR_CHARDEV_TYPE: 69,
  RDMA_NLDEV_ATTR_CHARDEV_NAME: 70,
  RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID: 73,
} as const;

const HDR = 16;
const align4 = (n: number): number => (n + 3) & ~3;

/** RDMA_NL_GET_TYPE(client, op): the nlmsg_type of an RDMA netlink request. */
export function rdmaNlType(op: number): number {
  return (NL.RDMA_NL_NLDEV << 10) + op;
}

/** One attribute of a request: a u32 or a NUL-terminated string. */
export type NlAttr = readonly [type: number, value: number | string];

/** An RDMA netlink request: struct nlmsghdr, then its attributes (each a struct nlattr and its value, 4-byte aligned). */
export function encodeRequest(type: number, flags: number, seq: number, attrs: readonly NlAttr[] = []): Buffer {
  const bodies = attrs.map(([t, v]) => {
    const payload = typeof v === 'number' ? Buffer.alloc(4) : Buffer.from(`${v}\0`, 'utf8');
    if (typeof v === 'number') payload.writeUInt32LE(v >>> 0, 0);
    const a = Buffer.alloc(align4(4 + payload.length));
    a.writeUInt16LE(4 + payload.length, 0);
    a.writeUInt16LE(t, 2);
    payload.copy(a, 4);
    return a;
  });
  const len = HDR + bodies.reduce((n, b) => n + b.length, 0);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(0, 12);
  let at = HDR;
  for (const a of bodies) {
    a.copy(b, at);
    at += a.length;
  }
  return b;
}

/** One message of a reply: NLMSG_ERROR carries `error` (0 for an ack, else minus an errno), the others attributes. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  error: number;
  attrs: Map<number, Buffer>;
}

/** The messages of one datagram; a length that does not fit ends the walk (the rest is not trusted). */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let at = 0;
  while (at + HDR <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < HDR || at + len > buf.length) break;
    const m: NlMessage = { type: buf.readUInt16LE(at + 4), flags: buf.readUInt16LE(at + 6), seq: buf.readUInt32LE(at + 8), error: 0, attrs: new Map() };
    if (m.type === NL.NLMSG_ERROR) {
      m.error = len >= HDR + 4 ? buf.readInt32LE(at + HDR) : -1;
    } else {
      let p = at + HDR;
      const end = at + len;
      while (p + 4 <= end) {
        const alen = buf.readUInt16LE(p);
        if (alen < 4 || p + alen > end) break;
        // The top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        m.attrs.set(buf.readUInt16LE(p + 2) & 0x3fff, buf.subarray(p + 4, p + alen));
        p += align4(alen);
      }
    }
    out.push(m);
    at += align4(len);
  }
  return out;
}

/** A u32 attribute (a u64 one read by its low half, as a little-endian host lays it out); null when absent or short. */
export function attrU32(m: NlMessage, type: number): number | null {
  const v = m.attrs.get(type);
  return v && v.length >= 4 ? v.readUInt32LE(0) : null;
}

/** A NUL-terminated string attribute; null when absent. */
export function attrString(m: NlMessage, type: number): string | null {
  const v = m.attrs.get(type);
  if (!v) return null;
  const nul = v.indexOf(0);
  return v.toString('utf8', 0, nul < 0 ? v.length : nul);
}

/** Reads of one reply before it is given up (a dump of many devices comes in parts of ~16 KiB). */
const MAX_READS = 64;
const READ_BYTES = 64 << 10;

/** Sends `req` and collects the messages answering it (seq) up to NLMSG_DONE, or the first one for a request without NLM_F_DUMP; null on any failure. */
function exchange(fd: number, req: Buffer, seq: number, dump: boolean): NlMessage[] | null {
  if (Number(libc.write(fd, req, req.length)) !== req.length) return null;
  const buf = Buffer.alloc(READ_BYTES);
  const out: NlMessage[] = [];
  for (let i = 0; i < MAX_READS; i++) {
    const n = Number(libc.read(fd, buf, buf.length));
    if (n <= 0) return null;
    for (const m of parseMessages(buf.subarray(0, n))) {
      if (m.seq !== seq) continue;
      if (m.type === NL.NLMSG_DONE) return out;
      if (m.type === NL.NLMSG_ERROR) return m.error === 0 && !dump ? out : null;
      out.push(m);
      if (!dump) return out;
    }
  }
  return null;
}

/**
 * The kernel's `enum rdma_driver_id` of RDMA device `name`: null when RDMA
 * netlink cannot say (no such device, a kernel without NETLINK_RDMA or
 * without RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID, which came with Linux 4.20, or a
 * device without uverbs); 0 (RDMA_DRIVER_UNKNOWN) as the kernel reports it.
 */
export function uverbsDriverId(name: string): number | null {
  const fd = libc.socket(NL.AF_NETLINK, NL.SOCK_RAW | libc.SOCK_CLOEXEC | libc.SOCK_NONBLOCK, NL.NETLINK_RDMA);
  if (fd < 0) return null;
  try {
    const devs = exchange(fd, encodeRequest(rdmaNlType(NL.RDMA_NLDEV_CMD_GET), NL.NLM_F_REQUEST | NL.NLM_F_DUMP, 1), 1, true);
    const dev = devs?.find((m) => attrString(m, NL.RDMA_NLDEV_ATTR_DEV_NAME) === name);
    const index = dev ? attrU32(dev, NL.RDMA_NLDEV_ATTR_DEV_INDEX) : null;
    if (index === null) return null;
    const req = encodeRequest(rdmaNlType(NL.RDMA_NLDEV_CMD_GET_CHARDEV), NL.NLM_F_REQUEST, 2, [
      [NL.RDMA_NLDEV_ATTR_DEV_INDEX, index],
      [NL.RDMA_NLDEV_ATTR_CHARDEV_TYPE, 'uverbs'],
    ]);
    const reply = exchange(fd, req, 2, false)?.[0];
    return reply ? attrU32(reply, NL.RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID) : null;
  } finally {
    libc.close(fd);
  }
}
