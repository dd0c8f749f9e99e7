#!/usr/bin/env python3
"""An RDMA WRITE from Python through rdma-brokerd's gRPC API and its fd channel.

  python3 examples/grpc-session.py [--socket PATH] [--device D] [--bytes N] [--stubs DIR] [--hold]

Needs grpcio and its code generator (Debian: apt-get install python3-grpcio
python3-grpc-tools; the system /usr/bin/python3 has them). The stubs are
generated from proto/rdmabroker/v1/broker.proto with `python3 -m
grpc_tools.protoc` on first use, into a cache directory named after the
proto's hash (--stubs DIR, default $XDG_CACHE_HOME/rdma-broker/python or
~/.cache/rdma-broker/python), so nothing generated is kept in the repository.

The flow is the one of src/examples/rdma-write.ts, spoken from Python:
opens a session (SessionService.Connect: the stream's first message opens
it, the reply carries the session token and a one-time fd-channel token;
keepalives keep its lease); creates a PD, a completion channel, a CQ and two
RC QPs over gRPC (every call with the token in the `x-rdma-session` header)
and moves both QPs to RTS connected to each other; binds the fd channel
(docs/fd-channel.md, through examples/rdmabroker_fd.py beside this file)
and registers two memfds of its own as MRs; writes random bytes into the
source, arms the CQ, posts an RDMA WRITE, sleeps on the
channel's completion-event fd, polls the CQ, checks the target's bytes in its
own mapping and prints "rdma-write ok N bytes". Closing the Connect stream
ends the session: the daemon destroys its objects children-first.
"""
import argparse
import hashlib
import importlib
import os
import queue
import shutil
import struct
import sys
import tempfile
import threading

from rdmabroker_fd import FdChannel  # examples/rdmabroker_fd.py: the fd channel's framing and SCM_RIGHTS

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "proto")
PROTO = "rdmabroker/v1/broker.proto"
# What broker.proto imports (the error details of google.rpc), generated beside it.
PROTOS = [PROTO, "google/rpc/error_details.proto"]


def die(msg, code=1):
    print(f"grpc-session: {msg}", file=sys.stderr)
    sys.exit(code)


try:
    import grpc
except ImportError:
    die("grpcio is not installed (Debian: apt-get install python3-grpcio python3-grpc-tools; "
        "then run this with /usr/bin/python3)")


def load_stubs(cache_root):
    """Imports broker_pb2 / broker_pb2_grpc, generating them first when the cache has none for this proto."""
    h = hashlib.sha256()
    for p in PROTOS:
        with open(os.path.join(PROTO_DIR, p), "rb") as f:
            h.update(f.read())
    digest = h.hexdigest()[:16]
    out = os.path.join(cache_root, digest)
    if not os.path.exists(os.path.join(out, "rdmabroker", "v1", "broker_pb2_grpc.py")):
        try:
            from grpc_tools import protoc
        except ImportError:
            die("grpc_tools is not installed (Debian: apt-get install python3-grpc-tools)")
        os.makedirs(cache_root, exist_ok=True)
        # Generate beside the target and rename, so a concurrent run never imports half a module.
        tmp = tempfile.mkdtemp(prefix=f".{digest}-", dir=cache_root)
        rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={tmp}", f"--grpc_python_out={tmp}", *PROTOS])
        if rc != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            die(f"grpc_tools.protoc failed on {PROTO} (exit {rc})")
        try:
            os.rename(tmp, out)
        except OSError:  # another run got there first
            shutil.rmtree(tmp, ignore_errors=True)
    sys.path.insert(0, out)
    return importlib.import_module("rdmabroker.v1.broker_pb2"), importlib.import_module("rdmabroker.v1.broker_pb2_grpc")


class Handle(int):
    """An object handle: encoded as Value.handle, not as a number."""


def default_socket():
    """Where the daemon listens by default (src/wire/defaults.ts): $RDMA_BROKER_SOCKET, else per user."""
    if os.environ.get("RDMA_BROKER_SOCKET"):
        return os.environ["RDMA_BROKER_SOCKET"]
    if os.getuid() == 0:
        return "/run/rdma-broker/broker.sock"
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"rdma-broker-{os.getuid()}", "broker.sock")


class Broker:
    """One session over gRPC: the Connect stream, and unary calls carrying its token."""

    def __init__(self, pb, rpc, target, name):
        self.pb = pb
        self.ch = grpc.insecure_channel(target)
        self.devices = rpc.DeviceServiceStub(self.ch)
        self.objects = rpc.ObjectServiceStub(self.ch)
        self.inspect = rpc.InspectionServiceStub(self.ch)
        self._out = queue.Queue()
        self._out.put(pb.SessionClientMessage(open=pb.OpenSession(name=name)))
        self._stream = rpc.SessionServiceStub(self.ch).Connect(iter(self._out.get, None))
        first = next(self._stream)
        if first.WhichOneof("msg") != "opened":
            raise RuntimeError(f"Connect answered {first.WhichOneof('msg')} before opened")
        self.opened = first.opened
        self.md = (("x-rdma-session", self.opened.token),)
        self.ended = threading.Event()
        self._stop = threading.Event()
        # The lease runs out without client messages: a keepalive every third of it.
        threading.Thread(target=self._keepalive, daemon=True).start()
        threading.Thread(target=self._read_events, daemon=True).start()

    def _keepalive(self):
        n = 0
        while not self._stop.wait(max(self.opened.lease_ms, 300) / 3000):
            n += 1
            self._out.put(self.pb.SessionClientMessage(keepalive=self.pb.KeepAlive(nonce=n)))

    def _read_events(self):
        try:
            for _ in self._stream:  # keepalive answers and events; this example waits on fds instead
                pass
        except grpc.RpcError:
            pass
        self.ended.set()

    def close(self):
        """Ends the Connect stream: the daemon destroys the session's objects."""
        self._stop.set()
        self._out.put(None)
        self.ended.wait(5)
        self.ch.close()

    # Values (proto Value): ints, strings, bytes, lists, dicts and Handles.
    def value(self, v):
        pb = self.pb
        if isinstance(v, Handle):
            return pb.Value(handle=int(v))
        if isinstance(v, bool):
            return pb.Value(flag=v)
        if isinstance(v, int):
            return pb.Value(u64=v) if v >= 0 else pb.Value(s64=v)
        if isinstance(v, str):
            return pb.Value(str=v)
        if isinstance(v, (bytes, bytearray)):
            return pb.Value(raw=bytes(v))
        if isinstance(v, (list, tuple)):
            return pb.Value(list=pb.ValueList(items=[self.value(x) for x in v]))
        if isinstance(v, dict):
            m = pb.Value(map=pb.Attrs())
            for k, x in v.items():
                m.map.fields[k].CopyFrom(self.value(x))
            return m
        raise TypeError(f"no Value for {type(v).__name__}")

    def attrs(self, fields, d):
        for k, v in d.items():
            fields[k].CopyFrom(self.value(v))

    @staticmethod
    def plain(v):
        kind = v.WhichOneof("kind")
        if kind == "list":
            return [Broker.plain(x) for x in v.list.items]
        if kind == "map":
            return {k: Broker.plain(x) for k, x in v.map.fields.items()}
        if kind == "handle":
            return Handle(v.handle)
        return getattr(v, kind) if kind else None

    def create(self, type_, attrs, device=""):
        req = self.pb.CreateRequest(type=type_, device=device)
        self.attrs(req.attrs, attrs)
        o = self.objects.Create(req, metadata=self.md).object
        return Handle(o.handle), {k: self.plain(v) for k, v in o.attrs.items()}

    def modify(self, h, attrs):
        req = self.pb.ModifyRequest(handle=h)
        self.attrs(req.attrs, attrs)
        self.objects.Modify(req, metadata=self.md)

    def invoke(self, h, method, attrs=None):
        req = self.pb.InvokeRequest(handle=h, method=method)
        self.attrs(req.attrs, attrs or {})
        return {k: self.plain(v) for k, v in self.objects.Invoke(req, metadata=self.md).attrs.items()}


def self_address(port):
    """An ah_attr that reaches this port (its LID; GID 0 in a GRH on RoCE), as src/examples/rdma-write.ts builds it."""
    a = {k: Broker.plain(v) for k, v in port.attrs.items()}
    ah = {"port_num": port.port, "dlid": int(a.get("lid") or 0), "sl": 0}
    if a.get("link_layer") == "Ethernet":
        gid0 = next((g.gid for g in port.gids if g.index == 0), None)
        if gid0 is None:
            raise RuntimeError(f"port {port.port} is on Ethernet but has no GID 0")
        ah["grh"] = {"dgid": gid0, "sgid_index": 0, "hop_limit": 1}
    return ah, int(a.get("active_mtu") or 3)


def rdma_write(b, device, n, hold):
    pb = b.pb
    devs = [d for d in b.devices.List(pb.ListDevicesRequest()).devices if d.state == "live"]
    device = device or (devs[0].name if devs else None)
    if not device:
        raise RuntimeError("the daemon serves no live device")
    info = b.devices.Query(pb.QueryDeviceRequest(device=device))
    port = next((p for p in info.ports if Broker.plain(p.attrs["state"]) == "ACTIVE"), info.ports[0] if info.ports else None)
    if port is None:
        raise RuntimeError(f"{device} has no ports")
    ah, mtu = self_address(port)
    if not b.opened.fd_socket:
        raise RuntimeError("the daemon serves no fd channel (a local unix socket is needed for shared memory)")
    fdc = FdChannel(b.opened.fd_socket, b.opened.fd_token)

    access = ["LOCAL_WRITE", "REMOTE_WRITE", "REMOTE_READ"]
    pd, _ = b.create("pd", {}, device)
    chan, _ = b.create("comp_channel", {}, device)
    cq, _ = b.create("cq", {"cqe": 16, "channel": chan}, device)
    cap = {"max_send_wr": 4, "max_recv_wr": 4, "max_send_sge": 1, "max_recv_sge": 1}
    qp_attrs = {"pd": pd, "send_cq": cq, "recv_cq": cq, "qp_type": "RC", "cap": cap}
    qa, a = b.create("qp", qp_attrs)
    qb, bb = b.create("qp", qp_attrs)
    for qp, peer in ((qa, bb), (qb, a)):
        b.modify(qp, {"qp_state": "INIT", "pkey_index": 0, "port_num": port.port, "qp_access_flags": access})
        b.modify(qp, {"qp_state": "RTR", "path_mtu": mtu, "dest_qp_num": int(peer["qp_num"]), "rq_psn": 0,
                      "max_dest_rd_atomic": 1, "min_rnr_timer": 12, "ah_attr": ah})
        b.modify(qp, {"qp_state": "RTS", "sq_psn": 0, "timeout": 14, "retry_cnt": 7, "rnr_retry": 7, "max_rd_atomic": 1})
    src, smem = fdc.reg_memfd(pd, n, access, "grpc-session")
    dst, dmem = fdc.reg_memfd(pd, n, access, "grpc-session")
    _, events = fdc.get_fd(chan)
    mine = b.inspect.ListObjects(pb.ListObjectsRequest(filter=pb.ObjectFilter(session=b.opened.session_id)), metadata=b.md).objects
    print(f"session {b.opened.session_id} tenant {b.opened.tenant} objects {len(mine)}", flush=True)
    if hold:
        print("holding", flush=True)
        b.ended.wait()
        raise RuntimeError("the session ended while holding (evicted, or the daemon stopped)")

    data = os.urandom(n)
    smem[0:n] = data
    b.invoke(cq, "req_notify")  # armed before the post, so the completion raises an event
    b.invoke(qa, "post_send", {"wrs": [{
        "wr_id": 1, "opcode": "RDMA_WRITE", "send_flags": ["SIGNALED"],
        "sg_list": [{"addr": src["addr"], "length": n, "lkey": src["lkey"]}],
        "remote_addr": dst["addr"], "rkey": dst["rkey"]}]})
    fired, _user = struct.unpack("<QQ", os.read(events, 16))  # blocks until the CQ fires
    if fired != cq:
        raise RuntimeError(f"completion event for {fired}, expected the CQ {int(cq)}")
    wcs = b.invoke(cq, "poll", {"max": 4})["wcs"]
    if len(wcs) != 1 or wcs[0]["status"] not in ("SUCCESS", 0):
        raise RuntimeError(f"RDMA WRITE completed with {wcs}")
    if dmem[0:n] != data:
        raise RuntimeError("the target differs from the source")
    os.close(events)
    return n


def main():
    p = argparse.ArgumentParser(description="An RDMA WRITE from Python through rdma-brokerd's gRPC API and fd channel.")
    p.add_argument("--socket", default=default_socket(), help="the daemon's unix socket (default: $RDMA_BROKER_SOCKET, else the daemon's default)")
    p.add_argument("--device", help="the device (default: the first live one)")
    p.add_argument("--bytes", type=int, default=4096, help="bytes to write (default 4096)")
    p.add_argument("--stubs", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rdma-broker", "python"),
                   help="where the generated gRPC stubs are cached")
    p.add_argument("--hold", action="store_true", help='print "holding" once the objects exist, then wait until killed')
    a = p.parse_args()
    if not 1 <= a.bytes <= 1 << 30:
        die(f"--bytes: expected 1..{1 << 30}, got {a.bytes}", 2)
    if not os.path.exists(a.socket):
        die(f"no daemon socket at {a.socket} (is rdma-brokerd running?)")
    pb, rpc = load_stubs(a.stubs)
    try:
        b = Broker(pb, rpc, f"unix:{a.socket}", f"grpc-session.py[{os.getpid()}]")
    except grpc.RpcError as e:
        die(f"{e.code().name}: {e.details()}")
    try:
        n = rdma_write(b, a.device, a.bytes, a.hold)
        print(f"rdma-write ok {n} bytes")
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        errno = f" (errno {trailers['rdma-errno']} in {trailers.get('rdma-call', '?')})" if "rdma-errno" in trailers else ""
        die(f"{e.code().name}: {e.details()}{errno}")
    except (RuntimeError, OSError) as e:
        die(str(e))
    finally:
        b.close()


if __name__ == "__main__":
    main()
