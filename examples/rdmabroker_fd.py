"""rdma-brokerd's fd channel from Python (docs/fd-channel.md), stdlib only.

One JSON object per SOCK_SEQPACKET packet each way, file descriptors beside it
in SCM_RIGHTS. The examples (examples/grpc-session.py,
examples/fast-lane-write.py) and the tests' Python client
(test/integration/fixtures/fd-client.py) all speak it through this module:

    from rdmabroker_fd import FdChannel
    ch = FdChannel(opened.fd_socket, opened.fd_token)   # connects and binds
    mem, mr = ch.map_mr(mr_handle)                     # the MR's pages, shared with the device
    reply, mem = ch.reg_memfd(pd_handle, 1 << 16, ["LOCAL_WRITE"])

Every fd the daemon hands over is received close-on-exec (MSG_CMSG_CLOEXEC).
A refusal raises FdChannelError with the daemon's error record; the fds that
came with it are closed first.
"""
import array
import json
import mmap
import os
import socket

__all__ = ["FdChannel", "FdChannelError", "recv_fds", "MAX_FDS"]

#: The most fds one reply carries (lane_open hands over three).
MAX_FDS = 8
#: Replies are one JSON object; the daemon keeps them far below this.
MAX_REPLY = 65536


class FdChannelError(RuntimeError):
    """The daemon refused a request: `op` is the request's, `error` the reply's error record
    (`message`, `status_name`, ... as docs/fd-channel.md lists them)."""

    def __init__(self, op, error):
        super().__init__(f"fd channel {op}: {error.get('message', error)}")
        self.op = op
        self.error = error


def recv_fds(ancdata):
    """The fds in a recvmsg's SCM_RIGHTS control messages (a partial trailing int is ignored)."""
    fds = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += array.array("i", data[: len(data) - len(data) % 4])
    return fds


class FdChannel:
    """One connection to the fd channel; binds it to a session when given the one-time token."""

    def __init__(self, path, token=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(path)
        self.session = None
        if token is not None:
            self.session = self.call({"op": "bind", "token": token})[0]["session"]

    def call(self, req, fds=()):
        """Sends `req` (a dict with "op") and `fds`; returns (reply, fds received). Raises FdChannelError."""
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.s.sendmsg([json.dumps(req).encode()], anc)
        msg, anc, _, _ = self.s.recvmsg(MAX_REPLY, socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC)
        got = recv_fds(anc)
        if not msg:
            for fd in got:
                os.close(fd)
            raise ConnectionError(f"fd channel {req.get('op')}: the daemon closed the channel")
        reply = json.loads(msg)
        if not reply["ok"]:
            for fd in got:
                os.close(fd)
            raise FdChannelError(req.get("op"), reply["error"])
        return reply, got

    def get_fd(self, handle):
        """The fd behind an object (an MR's memfd, a channel's event fd): returns (reply, fd)."""
        reply, fds = self.call({"op": "get_fd", "handle": int(handle)})
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise FdChannelError("get_fd", {"message": f"expected one fd, got {len(fds)}"})
        return reply, fds[0]

    def map_mr(self, handle):
        """Maps an MR's memory (its memfd, shared with the device): returns (mmap, reply with addr, lkey, rkey, length)."""
        reply, fd = self.get_fd(handle)
        try:
            return mmap.mmap(fd, reply["length"], mmap.MAP_SHARED, offset=reply["offset"]), reply
        finally:
            os.close(fd)

    def reg_memfd(self, pd, length, access, name="rdmabroker"):
        """A memfd of ours, registered as an MR on `pd`: returns (reply with handle, addr, lkey, rkey; our mapping)."""
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, length)
            reply, _ = self.call({"op": "reg_mr", "pd": int(pd), "length": length, "access": access}, [fd])
            return reply, mmap.mmap(fd, length, mmap.MAP_SHARED)
        finally:
            os.close(fd)

    def close(self):
        self.s.close()
