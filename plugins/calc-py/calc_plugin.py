#!/usr/bin/python3
"""calc: a hintfleet tool plugin written in Python.

It shows that a tool needs no Go: it speaks go-plugin's handshake and serves
the Tool service of plugins/proto/tool.proto over gRPC, like any Go plugin,
and the host checksums, starts, health-checks, restarts and routes it the
same way. The tool itself is a small safe calculator for ```calc fences:

    r = 2
    pi * r ** 2          # an expression line prints its value
    print(sqrt(16), 7 // 2)

Code is parsed with ast and evaluated by walking a whitelist of nodes: no
names but the session's variables and a few math functions, no attributes,
no imports, bounded powers and integer sizes. Sessions keep variables
between calls unless opened stateless.

go-plugin's host side needs, from a non-Go plugin:
  * the magic cookie check (HINTFLEET_PLUGIN), else refuse to run;
  * one stdout line "1|<app version>|tcp|127.0.0.1:<port>|grpc|<cert>";
  * grpc.health.v1.Health/Check answering SERVING for service "plugin";
  * with AutoMTLS (the host always turns it on): a TLS server whose client
    must present the PEM cert in PLUGIN_CLIENT_CERT, and our own self-signed
    cert, DER in unpadded base64, as the 6th handshake field;
  * optionally plugin.GRPCController/Shutdown, so the host's Kill is
    graceful instead of waiting 2 s and sending SIGKILL.
GRPCStdio and GRPCBroker are optional; the host copes with UNIMPLEMENTED.

It must run under Debian's /usr/bin/python3 with python3-grpcio and
python3-cryptography; tool_pb2.py is generated (see README.md).
"""

import ast
import base64
import datetime
import math
import os
import secrets
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import grpc  # noqa: E402
import tool_pb2  # noqa: E402

# Must match plugins.MagicCookieKey/Value and plugins.ProtocolVersion.
COOKIE_KEY = "HINTFLEET_PLUGIN"
COOKIE_VALUE = "7c0f3d2e-tool-plugin-b5a1"
APP_PROTOCOL_VERSION = 1
CORE_PROTOCOL_VERSION = 1

VERSION = "0.1.0"
DEFAULT_TIMEOUT = 5.0  # seconds
DEFAULT_TTL = 3600.0  # seconds
OUTPUT_LIMIT = 64 * 1024  # bytes per stream
MAX_INT_BITS = 100_000
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1_000


class CalcError(Exception):
    """The code is wrong; reported to the model as stderr, exit status 1."""


class CalcTimeout(Exception):
    """The code ran past its deadline."""


def _factorial(n):
    if not isinstance(n, int) or n < 0 or n > MAX_FACTORIAL:
        raise CalcError(f"factorial: want an integer in 0..{MAX_FACTORIAL}")
    return math.factorial(n)


FUNCTIONS = {
    "abs": abs, "round": round, "min": min, "max": max, "int": int, "float": float,
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log2": math.log2,
    "log10": math.log10, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan, "atan2": math.atan2,
    "floor": math.floor, "ceil": math.ceil, "gcd": math.gcd, "factorial": _factorial,
    "comb": math.comb, "perm": math.perm, "hypot": math.hypot,
}
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}

BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
}


class Evaluator:
    """Walks a parsed program over a whitelist of nodes."""

    def __init__(self, variables, deadline):
        self.vars = variables
        self.deadline = deadline
        self.out = []

    def run(self, code):
        try:
            tree = ast.parse(code, mode="exec")
        except SyntaxError as e:
            raise CalcError(f"line {e.lineno}: syntax error: {e.msg}") from None
        for stmt in tree.body:
            try:
                self.statement(stmt)
            except (ArithmeticError, ValueError, TypeError) as e:
                raise CalcError(f"line {stmt.lineno}: {type(e).__name__}: {e}") from None
            except CalcError as e:
                raise CalcError(f"line {stmt.lineno}: {e}") from None

    def statement(self, stmt):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if name in FUNCTIONS or name in CONSTANTS or name == "print":
                raise CalcError(f"cannot assign to {name}")
            self.vars[name] = self.expr(stmt.value)
        elif isinstance(stmt, ast.Expr):
            call = stmt.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
                if call.keywords:
                    raise CalcError("print takes no keywords")
                self.out.append(" ".join(str(self.expr(a)) for a in call.args))
            else:
                self.out.append(str(self.expr(call)))
        else:
            raise CalcError(f"{type(stmt).__name__} is not allowed; use assignments and expressions")

    def expr(self, node):
        if time.monotonic() > self.deadline:
            raise CalcTimeout()
        if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.vars:
                return self.vars[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise CalcError(f"name {node.id!r} is not defined")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = self.expr(node.operand)
            return v if isinstance(node.op, ast.UAdd) else -v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exp = self.expr(node.left), self.expr(node.right)
            if abs(exp) > MAX_EXPONENT and abs(base) > 1:
                raise CalcError(f"exponent {exp} too large (limit {MAX_EXPONENT})")
            return self.checked(base ** exp)
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            return self.checked(BINOPS[type(node.op)](self.expr(node.left), self.expr(node.right)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            if node.keywords:
                raise CalcError(f"{node.func.id} takes no keywords")
            return self.checked(FUNCTIONS[node.func.id](*[self.expr(a) for a in node.args]))
        raise CalcError(f"{type(node).__name__} is not allowed")

    @staticmethod
    def checked(v):
        if isinstance(v, int) and v.bit_length() > MAX_INT_BITS:
            raise CalcError(f"integer larger than {MAX_INT_BITS} bits")
        return v


def _truncate(text):
    data = text.encode()
    if len(data) <= OUTPUT_LIMIT:
        return text, False
    return data[:OUTPUT_LIMIT].decode(errors="ignore"), True


class CalcTool:
    """The Tool service. Methods run on gRPC's thread pool; the lock guards
    the session table."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {}  # id -> {"vars": dict, "stateless": bool, "expires": float}

    def Describe(self, request, context):
        limits = tool_pb2.Limits(output_bytes=OUTPUT_LIMIT)
        limits.timeout.FromTimedelta(datetime.timedelta(seconds=DEFAULT_TIMEOUT))
        return tool_pb2.DescribeResponse(name="calc", version=VERSION, languages=["calc"], limits=limits)

    def Open(self, request, context):
        ttl = request.ttl.ToTimedelta().total_seconds() if request.HasField("ttl") else DEFAULT_TTL
        sid = secrets.token_hex(12)
        with self.lock:
            self._expire()
            self.sessions[sid] = {"vars": {}, "stateless": request.stateless, "expires": time.monotonic() + ttl}
        return tool_pb2.OpenResponse(session=sid)

    def Exec(self, request, context):
        start = time.monotonic()
        with self.lock:
            self._expire()
            sess = self.sessions.get(request.session)
        if sess is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown session {request.session!r}")
        timeout = request.timeout.ToTimedelta().total_seconds() if request.HasField("timeout") else DEFAULT_TIMEOUT
        variables = {} if sess["stateless"] else sess["vars"]
        ev = Evaluator(dict(variables), start + timeout)
        resp = tool_pb2.ExecResponse()
        try:
            ev.run(request.code)
            variables.update(ev.vars)
        except CalcTimeout:
            resp.exit_code = 1
            resp.error_kind = tool_pb2.ERROR_KIND_TIMEOUT
            resp.error = f"timed out after {timeout:.3g}s"
        except CalcError as e:
            resp.exit_code = 1
            resp.stderr, resp.stderr_truncated = _truncate(f"error: {e}\n")
        stdout = "".join(line + "\n" for line in ev.out)
        resp.stdout, resp.stdout_truncated = _truncate(stdout)
        resp.duration.FromTimedelta(datetime.timedelta(seconds=time.monotonic() - start))
        return resp

    def Close(self, request, context):
        with self.lock:
            if self.sessions.pop(request.session, None) is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown session {request.session!r}")
        return tool_pb2.CloseResponse()

    def _expire(self):
        now = time.monotonic()
        for sid in [s for s, v in self.sessions.items() if v["expires"] < now]:
            del self.sessions[sid]


def _unary(fn, req_type, resp_type):
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=req_type.FromString, response_serializer=resp_type.SerializeToString)


def _raw(fn, response_bytes):
    """A handler for a service whose messages we never look into."""
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=lambda b: b, response_serializer=lambda _: response_bytes)


def _server_credentials(client_cert_pem):
    """A fresh self-signed server cert for AutoMTLS, trusting only the host's
    cert. Returns the credentials and our cert's DER for the handshake."""
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
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    creds = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=client_cert_pem.encode(), require_client_auth=True)
    return creds, cert.public_bytes(serialization.Encoding.DER)


def main():
    if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
        print("This is a hintfleet tool plugin; the hintfleet host starts it.", file=sys.stderr)
        return 1
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(APP_PROTOCOL_VERSION)).split(",")
    if str(APP_PROTOCOL_VERSION) not in offered:
        print(f"host offers protocol versions {offered}, plugin speaks {APP_PROTOCOL_VERSION}", file=sys.stderr)
        return 1

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    stopping = threading.Event()

    def stop(*_):
        # Called from a gRPC handler or a signal handler: never block there.
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.stop, args=(0.5,), daemon=True).start()

    tool = CalcTool()
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("hintfleet.plugins.v1.Tool", {
            "Describe": _unary(tool.Describe, tool_pb2.DescribeRequest, tool_pb2.DescribeResponse),
            "Open": _unary(tool.Open, tool_pb2.OpenRequest, tool_pb2.OpenResponse),
            "Exec": _unary(tool.Exec, tool_pb2.ExecRequest, tool_pb2.ExecResponse),
            "Close": _unary(tool.Close, tool_pb2.CloseRequest, tool_pb2.CloseResponse),
        }),
        # HealthCheckResponse{status: SERVING}: field 1, varint 1.
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": _raw(lambda req, ctx: None, b"\x08\x01"),
        }),
        # plugin.Empty in, plugin.Empty out.
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
    print(f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|127.0.0.1:{port}|grpc{cert_field}", flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
