#!/usr/bin/python3
"""calc: a hintfleet tool plugin written in Python, on the Python SDK.

It shows that a tool needs no Go: plugins/pysdk/hintfleet_tool.py speaks
go-plugin's handshake, AutoMTLS and the Tool service of
plugins/proto/tool.proto, and the host checksums, starts, health-checks,
restarts and routes it like any Go plugin. The tool itself is a small safe
calculator for ```calc fences:

    r = 2
    pi * r ** 2          # an expression line prints its value
    print(sqrt(16), 7 // 2)

Code is parsed with ast and evaluated by walking a whitelist of nodes: no
names but the session's variables and a few math functions, no attributes,
no imports, bounded powers and integer sizes. Sessions keep variables
between calls unless opened stateless.

It runs under Debian's /usr/bin/python3 with python3-grpcio,
python3-protobuf and python3-cryptography; it finds the SDK through its own
real path, so a symlink in bin/plugins works.
"""

import ast
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "pysdk"))

import hintfleet_tool as ht  # noqa: E402

VERSION = 1
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


class CalcTool:
    """The tool: sessions hold variables. The SDK runs methods on several
    threads; the session table locks itself, and a session's variables are
    touched by one call at a time (one trajectory per session)."""

    def __init__(self):
        self.sessions = ht.Sessions()

    def describe(self):
        return ht.Description(name="calc", version=VERSION, languages=["calc"],
                              limits=ht.Limits(timeout=DEFAULT_TIMEOUT, output_bytes=OUTPUT_LIMIT))

    def open(self, req):
        ttl = req.ttl if req.ttl is not None else DEFAULT_TTL
        return self.sessions.new({"vars": {}, "stateless": req.stateless, "expires": time.monotonic() + ttl})

    def exec(self, req):
        sess = self.sessions.get(req.session)
        if sess["expires"] < time.monotonic():
            self.sessions.pop(req.session)
            raise ht.UnknownSession(f"session {req.session!r} expired")
        timeout = req.timeout if req.timeout is not None else DEFAULT_TIMEOUT
        variables = {} if sess["stateless"] else sess["vars"]
        ev = Evaluator(dict(variables), time.monotonic() + timeout)
        res = ht.Result()
        try:
            ev.run(req.code)
            variables.update(ev.vars)
        except CalcTimeout:
            res.exit_code, res.error_kind, res.error = 1, ht.TIMEOUT, f"timed out after {timeout:.3g}s"
        except CalcError as e:
            res.exit_code, res.stderr = 1, f"error: {e}\n"
        res.stdout = "".join(line + "\n" for line in ev.out)
        return res

    def close(self, session):
        self.sessions.pop(session)


if __name__ == "__main__":
    ht.serve(CalcTool())
