"""hintfleet_tool: write a hintfleet tool plugin in Python.

A tool is a class with four methods; serve() does the rest (go-plugin's
handshake, AutoMTLS, the gRPC Tool service of plugins/proto/tool.proto,
health checks, graceful stop):

    import hintfleet_tool as ht

    class Upper:
        def __init__(self):
            self.sessions = ht.Sessions()
        def describe(self):
            return ht.Description(name="upper", version="0.1.0", languages=["upper"])
        def open(self, req):
            return self.sessions.new()
        def exec(self, req):
            self.sessions.get(req.session)
            return ht.Result(stdout=req.code.upper())
        def close(self, session):
            self.sessions.pop(session)

    if __name__ == "__main__":
        ht.serve(Upper())

The contract, method by method (all may be called from several threads at
once; a session is used by one trajectory at a time):

  describe() -> Description   name, version, fence languages, Limits.
  open(req: OpenRequest) -> str
                              a session id for one trajectory
                              (req.trajectory, req.stateless, req.ttl).
  exec(req: ExecRequest) -> Result
                              run req.code, written in fence language
                              req.lang, in session req.session; req.timeout
                              (seconds or None) bounds it. A failure OF THE
                              CODE is a normal Result (exit_code, error_kind,
                              error); raise only when the tool itself fails.
  close(session: str) -> None end the session.

Raise UnknownSession for a session you do not know, InvalidRequest for a
malformed request, Unavailable when you cannot serve now: the host matches
them (errors.Is on plugins.ErrUnknownSession...). Any other exception is an
internal error of the tool, reported to the host with its message.

Output longer than Limits.output_bytes (default 64 KiB per stream) is cut
and marked truncated; a Result without duration gets the measured one.

Needs Debian's python3-grpcio, python3-protobuf and python3-cryptography
(`make deps-demo` installs them) and tool_pb2.py, generated from
plugins/proto/tool.proto by `make proto` and shipped beside this module, so
a tool author needs no protoc. Put this directory on sys.path (a plugin
script linked into bin/plugins resolves its own path first; see
plugins/calc-py/calc_plugin.py).
"""

import base64
import dataclasses
import datetime
import logging
import os
import secrets
import signal
import sys
import threading
import time
from concurrent import futures
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import grpc  # noqa: E402
import tool_pb2  # noqa: E402

__all__ = [
    "Description", "Limits", "OpenRequest", "ExecRequest", "Result", "Sessions",
    "UnknownSession", "InvalidRequest", "Unavailable", "serve",
    "TIMEOUT", "MEMORY", "OUTPUT_LIMIT", "KILLED", "CRASHED", "INTERNAL",
]

# Must match plugins.MagicCookieKey/Value and plugins.ProtocolVersion
# (plugins/handshake.go); hintfleet's tests check that they do.
COOKIE_KEY = "HINTFLEET_PLUGIN"
COOKIE_VALUE = "7c0f3d2e-tool-plugin-b5a1"
APP_PROTOCOL_VERSION = 1
CORE_PROTOCOL_VERSION = 1

DEFAULT_OUTPUT_BYTES = 64 * 1024
STOP_GRACE = 2.0  # seconds in-flight calls get on a stop

# Error kinds of a Result, as plugins.ErrorKind names them.
TIMEOUT = "timeout"
MEMORY = "memory"
OUTPUT_LIMIT = "output_limit"
KILLED = "killed"
CRASHED = "crashed"
INTERNAL = "internal"

_KINDS = {
    "": tool_pb2.ERROR_KIND_UNSPECIFIED, TIMEOUT: tool_pb2.ERROR_KIND_TIMEOUT,
    MEMORY: tool_pb2.ERROR_KIND_MEMORY, OUTPUT_LIMIT: tool_pb2.ERROR_KIND_OUTPUT_LIMIT,
    KILLED: tool_pb2.ERROR_KIND_KILLED, CRASHED: tool_pb2.ERROR_KIND_CRASHED,
    INTERNAL: tool_pb2.ERROR_KIND_INTERNAL,
}

log = logging.getLogger("hintfleet_tool")


class UnknownSession(Exception):
    """The session was never opened, was closed or expired (NOT_FOUND)."""


class InvalidRequest(Exception):
    """The request is malformed (INVALID_ARGUMENT)."""


class Unavailable(Exception):
    """The tool cannot serve now (UNAVAILABLE)."""


@dataclasses.dataclass
class Limits:
    """What the tool enforces; timeout in seconds, the rest in bytes/counts."""
    timeout: Optional[float] = None
    memory_bytes: int = 0
    output_bytes: int = 0
    processes: int = 0
    file_bytes: int = 0
    open_files: int = 0
    tmpfs_bytes: int = 0


@dataclasses.dataclass
class Description:
    """What describe() returns."""
    name: str
    version: str
    languages: List[str]
    limits: Limits = dataclasses.field(default_factory=Limits)


@dataclasses.dataclass
class OpenRequest:
    trajectory: str
    stateless: bool
    ttl: Optional[float]  # seconds; None: the tool's default


@dataclasses.dataclass
class ExecRequest:
    session: str
    code: str
    timeout: Optional[float]  # seconds; None: the tool's default
    lang: str  # the fence language, lowercased; "" from an older host


@dataclasses.dataclass
class Result:
    """What exec() returns. error_kind is "" or one of TIMEOUT, MEMORY,
    OUTPUT_LIMIT, KILLED, CRASHED, INTERNAL; error says why in words."""
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration: Optional[float] = None  # seconds; None: measured by serve()
    error_kind: str = ""
    error: str = ""


class Sessions:
    """A thread-safe table of session ids and their state, for tools that
    need no more: new() opens, get() finds (or raises UnknownSession), pop()
    closes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = {}

    def new(self, state=None):
        sid = secrets.token_hex(12)
        with self._lock:
            self._state[sid] = state
        return sid

    def get(self, sid):
        with self._lock:
            if sid not in self._state:
                raise UnknownSession(f"unknown session {sid!r}")
            return self._state[sid]

    def pop(self, sid):
        with self._lock:
            if sid not in self._state:
                raise UnknownSession(f"unknown session {sid!r}")
            return self._state.pop(sid)


def _seconds(duration_pb, present):
    return duration_pb.ToTimedelta().total_seconds() if present else None


def _cut(text, limit):
    data = text.encode("utf-8", errors="replace")
    if limit <= 0 or len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", errors="ignore"), True


class _Service:
    """Adapts the tool to the gRPC Tool service."""

    def __init__(self, tool):
        self.tool = tool
        self.output_bytes = DEFAULT_OUTPUT_BYTES

    def _guard(self, context, fn):
        try:
            return fn()
        except UnknownSession as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e) or "unknown session")
        except InvalidRequest as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e) or "invalid request")
        except Unavailable as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e) or "tool unavailable")
        except Exception as e:  # noqa: BLE001 - any other failure is the tool's
            log.exception("tool method failed")
            context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

    def Describe(self, request, context):
        def run():
            d = self.tool.describe()
            lim = d.limits or Limits()
            if lim.output_bytes > 0:
                self.output_bytes = lim.output_bytes
            pl = tool_pb2.Limits(memory_bytes=lim.memory_bytes, output_bytes=lim.output_bytes,
                                 processes=lim.processes, file_bytes=lim.file_bytes,
                                 open_files=lim.open_files, tmpfs_bytes=lim.tmpfs_bytes)
            if lim.timeout is not None:
                pl.timeout.FromTimedelta(datetime.timedelta(seconds=lim.timeout))
            return tool_pb2.DescribeResponse(name=d.name, version=d.version, languages=list(d.languages), limits=pl)
        return self._guard(context, run)

    def Open(self, request, context):
        req = OpenRequest(trajectory=request.trajectory, stateless=request.stateless,
                          ttl=_seconds(request.ttl, request.HasField("ttl")))
        return self._guard(context, lambda: tool_pb2.OpenResponse(session=self.tool.open(req)))

    def Exec(self, request, context):
        req = ExecRequest(session=request.session, code=request.code, lang=request.lang,
                          timeout=_seconds(request.timeout, request.HasField("timeout")))

        def run():
            start = time.monotonic()
            res = self.tool.exec(req)
            if not isinstance(res, Result):
                raise TypeError(f"exec returned {type(res).__name__}, want hintfleet_tool.Result")
            if res.error_kind not in _KINDS:
                raise ValueError(f"unknown error_kind {res.error_kind!r}")
            out, out_cut = _cut(res.stdout, self.output_bytes)
            err, err_cut = _cut(res.stderr, self.output_bytes)
            resp = tool_pb2.ExecResponse(
                stdout=out, stderr=err, exit_code=res.exit_code,
                stdout_truncated=res.stdout_truncated or out_cut,
                stderr_truncated=res.stderr_truncated or err_cut,
                error_kind=_KINDS[res.error_kind], error=res.error)
            took = res.duration if res.duration is not None else time.monotonic() - start
            resp.duration.FromTimedelta(datetime.timedelta(seconds=took))
            return resp
        return self._guard(context, run)

    def Close(self, request, context):
        def run():
            self.tool.close(request.session)
            return tool_pb2.CloseResponse()
        return self._guard(context, run)


def _unary(fn, req_type, resp_type):
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=req_type.FromString, response_serializer=resp_type.SerializeToString)


def _raw(fn, response_bytes):
    """A handler for a message we never look into (health, controller)."""
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=lambda b: b, response_serializer=lambda _: response_bytes)


def _server_credentials(client_cert_pem):
    """AutoMTLS: a fresh self-signed certificate for localhost, trusting only
    the host's certificate. Returns the credentials and our cert's DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_encipherment=False, content_commitment=False,
            data_encipherment=False, key_agreement=True, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    creds = grpc.ssl_server_credentials(
        [(key_pem, cert.public_bytes(serialization.Encoding.PEM))],
        root_certificates=client_cert_pem.encode(), require_client_auth=True)
    return creds, cert.public_bytes(serialization.Encoding.DER)


def serve(tool, max_workers=8):
    """Serve tool as a hintfleet plugin until the host stops it; then exit.

    Run by hand (without the host's cookie) it says it is a plugin and exits
    with status 1. A stop (the host's Shutdown call, SIGTERM or SIGINT) lets
    in-flight calls finish for STOP_GRACE seconds, then calls tool.shutdown()
    if the tool has one, and exits with status 0."""
    if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
        print("This is a hintfleet tool plugin; the hintfleet host starts it "
              "(hintfleet plugins list | exec, or infer).", file=sys.stderr)
        sys.exit(1)
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(APP_PROTOCOL_VERSION)).split(",")
    if str(APP_PROTOCOL_VERSION) not in offered:
        print(f"host offers protocol versions {offered}, this plugin speaks {APP_PROTOCOL_VERSION}", file=sys.stderr)
        sys.exit(1)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    stopping = threading.Event()

    def stop(*_):
        # Called from a gRPC handler or a signal handler: never block there.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.stop, args=(STOP_GRACE,), daemon=True).start()

    svc = _Service(tool)
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("hintfleet.plugins.v1.Tool", {
            "Describe": _unary(svc.Describe, tool_pb2.DescribeRequest, tool_pb2.DescribeResponse),
            "Open": _unary(svc.Open, tool_pb2.OpenRequest, tool_pb2.OpenResponse),
            "Exec": _unary(svc.Exec, tool_pb2.ExecRequest, tool_pb2.ExecResponse),
            "Close": _unary(svc.Close, tool_pb2.CloseRequest, tool_pb2.CloseResponse),
        }),
        # grpc.health.v1.HealthCheckResponse{status: SERVING}: field 1, varint 1.
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": _raw(lambda req, ctx: None, b"\x08\x01"),
        }),
        # go-plugin's controller: plugin.Empty in and out.
        grpc.method_handlers_generic_handler("plugin.GRPCController", {
            "Shutdown": _raw(lambda req, ctx: stop(), b""),
        }),
    ))
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    cert_field = ""
    if client_cert:
        creds, der = _server_credentials(client_cert)
        port = server.add_secure_port("127.0.0.1:0", creds)
        cert_field = "|" + base64.b64encode(der).decode().rstrip("=")
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    # The handshake line go-plugin's host reads from stdout.
    print(f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|127.0.0.1:{port}|grpc{cert_field}", flush=True)
    server.wait_for_termination()
    shutdown = getattr(tool, "shutdown", None)
    if callable(shutdown):
        shutdown()
    sys.exit(0)
