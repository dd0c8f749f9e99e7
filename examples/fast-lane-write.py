#!/usr/bin/env python3
"""An RDMA WRITE through rdma-brokerd's fast lane, from Python (stdlib only).

The layout is docs/fast-lane.md (include/rdma-broker/fast-lane.h in C).
Objects are created over gRPC by whoever holds the session (Python's stdlib
has no gRPC); this program gets, as JSON on the command line:

  {"fd_socket": PATH, "fd_token": T, "qp": H, "cq": H, "src": H, "dst": H,
   "bytes": N, "wait": "spin" | "doorbell"}

with `qp` an RC QP in RTS connected to a QP whose CQ is `cq` (created with a
completion channel), and `src` / `dst` MRs of the same session (memfd MRs,
REMOTE_WRITE on dst). It binds the fd channel (examples/rdmabroker_fd.py,
beside this file), opens a lane, attaches the CQ, maps both MRs, writes random bytes into src, posts one RDMA WRITE,
waits for its completion in the completion ring (spinning, or sleeping on
the completion doorbell), checks the bytes in dst and prints
"rdma-write ok N bytes".
"""
import json
import mmap
import os
import select
import struct
import sys
import time

from rdmabroker_fd import FdChannel  # examples/rdmabroker_fd.py: the fd channel's framing and SCM_RIGHTS

MAGIC = 0x4C464252
H_SQ_ENTRIES, H_SQ_OFFSET, H_CQ_ENTRIES, H_CQ_OFFSET, H_CQ_RING_SIZE = 12, 20, 28, 36, 40
H_ERR_ENTRIES, H_ERR_OFFSET = 44, 52
H_SQ_TAIL, H_SQ_HEAD, H_ERR_TAIL, H_ERR_HEAD = 64, 128, 192, 256
R_HEAD, R_TAIL = 0, 64
SQE_SIZE, CQE_SIZE, ERR_SIZE, CQ_RING_HEADER = 256, 64, 32, 256
POST_SEND, REQ_NOTIFY = 1, 4
IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED = 0, 2
WC_STATUS = ["SUCCESS", "LOC_LEN_ERR", "LOC_QP_OP_ERR", "LOC_EEC_OP_ERR", "LOC_PROT_ERR", "WR_FLUSH_ERR"]


# The indices are u32s on their own cache lines. On x86_64 and aarch64 an
# aligned 4-byte load or store through memoryview.cast('I') is one
# instruction; CPython has no fences, so a store of the tail after the entry
# bytes relies on the interpreter's own ordering (x86's TSO makes it a
# release store; on weaker CPUs use C and include/rdma-broker/fast-lane.h).
class Lane:
    def __init__(self, ch, **params):
        reply, (memfd, self.sq_bell, self.cq_bell) = ch.call({"op": "lane_open", **params})
        self.id = reply["lane"]
        self.m = mmap.mmap(memfd, reply["size"], mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(memfd)
        self.u32 = memoryview(self.m).cast("I")
        if self.u32[0] != MAGIC:
            raise RuntimeError("not a fast lane")
        g = lambda off: self.u32[off // 4]
        self.sq_entries, self.sq_offset = g(H_SQ_ENTRIES), g(H_SQ_OFFSET)
        self.cq_entries, self.cq_offset, self.cq_ring_size = g(H_CQ_ENTRIES), g(H_CQ_OFFSET), g(H_CQ_RING_SIZE)
        self.err_entries, self.err_offset = g(H_ERR_ENTRIES), g(H_ERR_OFFSET)
        self.tail = g(H_SQ_TAIL)
        self.ch = ch
        self.rings = {}

    def attach(self, cq):
        reply, _ = self.ch.call({"op": "lane_attach_cq", "lane": self.id, "cq": cq})
        off = self.cq_offset + reply["ring"] * self.cq_ring_size
        self.rings[cq] = [off, self.u32[(off + R_HEAD) // 4]]

    def submit(self, entry):
        if (self.tail - self.u32[H_SQ_HEAD // 4]) & 0xFFFFFFFF >= self.sq_entries:
            raise RuntimeError("submission ring full")
        o = self.sq_offset + (self.tail & (self.sq_entries - 1)) * SQE_SIZE
        self.m[o : o + SQE_SIZE] = entry.ljust(SQE_SIZE, b"\0")
        self.tail = (self.tail + 1) & 0xFFFFFFFF
        self.u32[H_SQ_TAIL // 4] = self.tail  # entry bytes first, then the tail
        os.eventfd_write(self.sq_bell, 1)  # then the doorbell

    def rdma_write(self, qp, wr_id, laddr, length, lkey, raddr, rkey):
        head = struct.pack("<BBBBIQQQII", POST_SEND, IBV_WR_RDMA_WRITE, 1, 0, IBV_SEND_SIGNALED, qp, wr_id, raddr, rkey, 0)
        sge = struct.pack("<QII", laddr, length, lkey)
        self.submit(head.ljust(96, b"\0") + sge)

    def req_notify(self, cq):
        self.submit(struct.pack("<BBBBIQ", REQ_NOTIFY, 0, 0, 0, 0, cq))

    def poll(self, cq):
        off, head = self.rings[cq]
        tail = self.u32[(off + R_TAIL) // 4]
        out = []
        while head != tail:
            o = off + CQ_RING_HEADER + (head & (self.cq_entries - 1)) * CQE_SIZE
            wr_id, status, opcode, _vendor, byte_len = struct.unpack_from("<QIIII", self.m, o)
            out.append({"wr_id": wr_id, "status": status, "opcode": opcode, "byte_len": byte_len})
            head = (head + 1) & 0xFFFFFFFF
        self.rings[cq][1] = head
        self.u32[(off + R_HEAD) // 4] = head
        return out

    def errors(self):
        head, tail = self.u32[H_ERR_HEAD // 4], self.u32[H_ERR_TAIL // 4]
        out = []
        while head != tail:
            o = self.err_offset + (head & (self.err_entries - 1)) * ERR_SIZE
            out.append(struct.unpack_from("<IIIIQQ", self.m, o))
            head = (head + 1) & 0xFFFFFFFF
        self.u32[H_ERR_HEAD // 4] = head
        return out

    def wait(self, cq, spin, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wcs = self.poll(cq)
            if wcs:
                return wcs
            if self.errors():
                raise RuntimeError("the daemon refused the write")
            if spin:
                continue
            self.req_notify(cq)  # arm, poll again (race-free), then sleep on the doorbell
            wcs = self.poll(cq)
            if wcs:
                return wcs
            select.select([self.cq_bell], [], [], max(0.0, deadline - time.monotonic()))
            try:
                os.eventfd_read(self.cq_bell)
            except BlockingIOError:
                pass
        raise RuntimeError("no completion")


def main():
    a = json.loads(sys.argv[1])
    ch = FdChannel(a["fd_socket"], a["fd_token"])
    lane = Lane(ch, sq_entries=8, cq_rings=1, cq_entries=16)
    lane.attach(a["cq"])
    src, s = ch.map_mr(a["src"])
    dst, d = ch.map_mr(a["dst"])
    n = a["bytes"]
    data = os.urandom(n)
    src[0:n] = data
    lane.rdma_write(a["qp"], 1, s["addr"], n, s["lkey"], d["addr"], d["rkey"])
    (wc,) = lane.wait(a["cq"], a.get("wait") == "spin")
    if wc["status"] != 0 or wc["opcode"] != 1 or wc["wr_id"] != 1:
        raise RuntimeError(f"completion {wc} (status {WC_STATUS[wc['status']] if wc['status'] < len(WC_STATUS) else wc['status']})")
    if dst[0:n] != data:
        raise RuntimeError("the target differs from the source")
    ch.call({"op": "lane_close", "lane": lane.id})
    print(f"rdma-write ok {n} bytes")


if __name__ == "__main__":
    main()
