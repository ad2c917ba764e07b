# hintfleet python kernel: runs inside the sandbox, one per session.
#
# The Go side (plugins/python/sandbox.go, on plugins/sandbox) starts this script with
# `python3 -I -c <this file> <config json>`. It talks over two inherited pipes:
# fd 3 carries requests in, fd 4 carries responses out. Each frame is a 4-byte
# big-endian length followed by that many bytes of UTF-8 JSON. The code's own
# stdout/stderr never touch those pipes: Python-level writes go to bounded
# in-memory buffers, and fds 1 and 2 point at a memfd whose size RLIMIT_FSIZE
# bounds, so output from os.write, C extensions and subprocesses is captured too.
#
# The first frame out is {"ready": true, "pid": N} once the preloaded modules
# are imported and the resource limits are set; after that, one response per
# request. EOF on fd 3 ends the kernel.
import ast
import builtins
import errno
import io
import json
import linecache
import os
import resource
import signal
import sys
import time
import traceback
import types

REQ_FD = 3
RESP_FD = 4


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def write_frame(obj):
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        n = os.write(RESP_FD, view)
        view = view[n:]


class _Binary(io.RawIOBase):
    """The .buffer of a Capture: bytes written here share the text's cap."""

    def __init__(self, owner):
        self._owner = owner

    def writable(self):
        return True

    def write(self, b):
        if self._owner.closed:
            raise ValueError("I/O operation on closed file.")
        b = bytes(b)
        self._owner._add(b)
        return len(b)


class Capture(io.TextIOBase):
    """A bounded stdout/stderr: keeps the first cap bytes, counts the rest.

    Printing a gigabyte costs the time to produce it, never the memory.
    """

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, cap):
        self._cap = cap
        self._buf = bytearray()
        self.truncated = False
        self.buffer = _Binary(self)

    def writable(self):
        return True

    def isatty(self):
        return False

    def _add(self, b):
        room = self._cap - len(self._buf)
        if len(b) > room:
            self.truncated = True
            b = b[:max(room, 0)]
        self._buf += b

    def write(self, s):
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        room = self._cap - len(self._buf)
        if room <= 0:
            if s:
                self.truncated = True
            return len(s)
        # Encode at most room characters: a huge string is never copied whole.
        self._add(s[:room].encode("utf-8", "replace"))
        if len(s) > room:
            self.truncated = True
        return len(s)

    def getvalue(self):
        return bytes(self._buf)


def set_limits(cfg):
    def lim(res, val):
        if val and val > 0:
            resource.setrlimit(res, (val, val))

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    lim(resource.RLIMIT_AS, cfg.get("memory_bytes"))
    lim(resource.RLIMIT_FSIZE, cfg.get("file_bytes"))
    lim(resource.RLIMIT_NOFILE, cfg.get("open_files"))
    lim(resource.RLIMIT_NPROC, cfg.get("processes"))
    cpu = cfg.get("cpu_seconds")
    if cpu and cpu > 0:
        # Soft limit sends SIGXCPU (terminates Python); the hard one SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def classify(exc):
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "output_limit"
    return ""


def format_exc(exc, filename):
    """Format exc without the kernel's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


class Kernel:
    def __init__(self, cfg):
        self.cap = int(cfg.get("output_bytes") or 65536)
        self.n = 0
        self.memfd = os.memfd_create("output", os.MFD_CLOEXEC)
        self.reset()

    def reset(self):
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = main
        self.globals = main.__dict__

    def raw_output(self):
        """Reads and clears what reached fds 1 and 2 during the call."""
        try:
            size = os.fstat(self.memfd).st_size
            data = os.pread(self.memfd, min(size, self.cap), 0) if size else b""
            os.ftruncate(self.memfd, 0)
            os.lseek(self.memfd, 0, os.SEEK_SET)
            return data, size > self.cap
        except OSError:
            return b"", False

    def run(self, req):
        if req.get("reset"):
            self.reset()
        self.n += 1
        filename = "<cell-%d>" % self.n
        code = req.get("code", "")
        out, err = Capture(self.cap), Capture(self.cap)
        # Repair what the previous call may have broken: fds 1/2, sys.std*.
        for fd in (1, 2):
            try:
                os.dup2(self.memfd, fd)
            except OSError:
                pass
        sys.stdout, sys.stderr = out, err
        sys.stdin = io.StringIO("")
        kind, exit_code, message = "", 0, ""
        start = time.perf_counter_ns()
        try:
            tree = ast.parse(code, filename, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            exec(compile(tree, filename, "exec"), self.globals)
            if last is not None:
                value = eval(compile(last, filename, "eval"), self.globals)
                if value is not None:
                    self.globals["_"] = value
                    out.write(repr(value) + "\n")
        except SystemExit as e:
            if e.code is None:
                exit_code = 0
            elif isinstance(e.code, int):
                exit_code = e.code
            else:
                err.write(str(e.code) + "\n")
                exit_code = 1
        except BaseException as e:  # noqa: B902 - the code's errors are its output
            exit_code = 1
            kind = classify(e)
            try:
                err.write(format_exc(e, filename))
            except MemoryError:
                err.write("MemoryError\n")
            if kind == "memory":
                message = "memory limit hit (MemoryError)"
            elif kind == "output_limit":
                message = "file size or /tmp size limit hit (%s)" % e
        duration = time.perf_counter_ns() - start
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        raw, raw_trunc = self.raw_output()
        stdout = out.getvalue()
        trunc = out.truncated or raw_trunc
        if raw:
            room = self.cap - len(stdout)
            if len(raw) > room:
                trunc = True
            stdout += raw[:max(room, 0)]
        if (trunc or err.truncated) and not kind:
            kind, message = "output_limit", "output truncated to %d bytes" % self.cap
        return {
            "id": req.get("id", 0),
            "stdout": stdout.decode("utf-8", "replace"),
            "stderr": err.getvalue().decode("utf-8", "replace"),
            "stdout_truncated": trunc,
            "stderr_truncated": err.truncated,
            "exit_code": exit_code,
            "kind": kind,
            "error": message,
            "duration_ns": duration,
        }


def main():
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    os.set_inheritable(REQ_FD, False)
    os.set_inheritable(RESP_FD, False)
    # A file over RLIMIT_FSIZE should fail with EFBIG, not kill the kernel.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for name in cfg.get("preload") or []:
        __import__(name)
    kernel = Kernel(cfg)
    set_limits(cfg)
    write_frame({"ready": True, "pid": os.getpid()})
    while True:
        head = read_exact(REQ_FD, 4)
        if head is None:
            return
        body = read_exact(REQ_FD, int.from_bytes(head, "big"))
        if body is None:
            return
        try:
            req = json.loads(body)
        except ValueError as e:
            write_frame({"kind": "internal", "error": "bad request: %s" % e, "exit_code": 1})
            continue
        write_frame(kernel.run(req))


main()
