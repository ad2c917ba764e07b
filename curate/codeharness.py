# hintfleet code-grading harness: installed once into a stateful session of
# the sandboxed interpreter (plugins/python), then called once per graded
# program as _hf_grade(job_json).
#
# The session's interpreter is a fork server. Each program runs in a child
# forked from it: the child closes every inherited descriptor (the kernel's
# protocol pipes included), imports what the program imports before any test
# clock starts, then runs the tests one after another and reports each result
# on a pipe. The parent holds the per-test wall-clock limit: a test that
# overruns gets the child killed. After every program the parent kills every
# other process left in the sandbox's pid namespace, so nothing a program
# started survives into the next one. A fork costs about a millisecond; a fresh
# sandbox costs tens, which is why one sandbox serves many programs.
import ast as _hf_ast
import io as _hf_io
import json as _hf_json
import os as _hf_os
import select as _hf_select
import signal as _hf_signal
import sys as _hf_sys
import time as _hf_time


# Standard modules solutions commonly import, imported once here so that
# every forked child has them for free (typing alone costs milliseconds).
for _hf_name in ("typing", "math", "collections", "itertools", "functools", "re", "heapq", "bisect", "string",
                 "fractions", "decimal", "random", "statistics", "hashlib", "copy", "operator", "datetime"):
    try:
        __import__(_hf_name)
    except ImportError:
        pass


def _hf_normalize(s):
    # Trailing white space on each line and trailing blank lines do not count.
    return "\n".join(line.rstrip() for line in s.rstrip().split("\n"))


def _hf_imports(program):
    names = []
    try:
        tree = _hf_ast.parse(program)
    except SyntaxError:
        return names
    for node in _hf_ast.walk(tree):
        if isinstance(node, _hf_ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, _hf_ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _hf_send(fd, obj):
    data = (_hf_json.dumps(obj) + "\n").encode()
    while data:
        n = _hf_os.write(fd, data)
        data = data[n:]


def _hf_memfd(data=b""):
    fd = _hf_os.memfd_create("io")
    if data:
        _hf_os.write(fd, data)
        _hf_os.lseek(fd, 0, _hf_os.SEEK_SET)
    return fd


def _hf_place(fd, target):
    # The program may have closed target, so fd can already be it.
    if fd != target:
        _hf_os.dup2(fd, target)
        _hf_os.close(fd)


def _hf_child(job, w):
    _hf_os.setpgid(0, 0)
    _hf_os.closerange(3, w)
    _hf_os.closerange(w + 1, 4096)
    null = _hf_os.open("/dev/null", _hf_os.O_RDWR)
    _hf_os.dup2(null, 0)
    _hf_os.dup2(null, 2)
    _hf_os.close(null)
    _hf_sys.stderr = _hf_io.TextIOWrapper(_hf_io.FileIO(2, "w", closefd=False), write_through=True)
    for name in _hf_imports(job["program"] + "\n" + job.get("check", "")):
        try:
            __import__(name)
        except BaseException:
            pass
    _hf_send(w, {"ready": True})
    if job["mode"] == "call":
        code = job["program"] + "\n\n" + job["check"] + "\n"
        g = {"__name__": "__hintfleet__"}
        try:
            exec(compile(code, "<solution>", "exec"), g)
            g["check"](g[job["entry"]])
            _hf_send(w, {"outcome": "pass"})
        except AssertionError as e:
            _hf_send(w, {"outcome": "fail", "detail": ("AssertionError: " + str(e))[:200]})
        except BaseException as e:
            _hf_send(w, {"outcome": "error", "detail": (type(e).__name__ + ": " + str(e))[:200]})
        return
    try:
        code = compile(job["program"], "<solution>", "exec")
    except BaseException as e:
        _hf_send(w, {"outcome": "error", "detail": (type(e).__name__ + ": " + str(e))[:200]})
        return
    for case in job["tests"]:
        _hf_place(_hf_memfd(case["input"].encode()), 0)
        outfd = _hf_memfd()
        _hf_os.dup2(outfd, 1)
        _hf_sys.stdin = _hf_io.TextIOWrapper(_hf_io.FileIO(0, "r", closefd=False))
        _hf_sys.stdout = _hf_io.TextIOWrapper(_hf_io.FileIO(1, "w", closefd=False))
        res = {"outcome": "pass"}
        try:
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as e:
            if e.code not in (None, 0):
                res = {"outcome": "error", "detail": "exit status %r" % (e.code,)}
        except BaseException as e:
            res = {"outcome": "error", "detail": (type(e).__name__ + ": " + str(e))[:200]}
        try:
            _hf_sys.stdout.flush()
        except BaseException as e:
            res = {"outcome": "error", "detail": "flush stdout: %s" % e}
        size = _hf_os.lseek(outfd, 0, _hf_os.SEEK_END)
        got = _hf_os.pread(outfd, size, 0).decode("utf-8", "replace")
        _hf_os.close(outfd)
        if res["outcome"] == "pass" and _hf_normalize(got) != _hf_normalize(case["output"]):
            res = {"outcome": "fail", "detail": "got %r, want %r" % (got[:80], case["output"][:80])}
        _hf_send(w, res)
        if res["outcome"] != "pass" and job.get("stop_on_fail", True):
            return


def _hf_reap_others():
    # Kill every other process in the sandbox and wait until they are gone:
    # until reaped they count against RLIMIT_NPROC, and a fork bomb's
    # leftovers would make the next program's fork fail.
    me = _hf_os.getpid()
    deadline = _hf_time.monotonic() + 2
    while True:
        others = [int(n) for n in _hf_os.listdir("/proc") if n.isdigit() and int(n) not in (1, me)]
        for pid in others:
            try:
                _hf_os.kill(pid, _hf_signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                if _hf_os.waitpid(-1, _hf_os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not others or _hf_time.monotonic() > deadline:
            return
        _hf_time.sleep(0.002)


def _hf_fork():
    deadline = _hf_time.monotonic() + 2
    while True:
        try:
            return _hf_os.fork()
        except BlockingIOError:
            if _hf_time.monotonic() > deadline:
                raise
            _hf_reap_others()
            _hf_time.sleep(0.005)


def _hf_grade(job_json):
    job = _hf_json.loads(job_json)
    n = 1 if job["mode"] == "call" else len(job["tests"])
    r, w = _hf_os.pipe()
    pid = _hf_fork()
    if pid == 0:
        try:
            _hf_os.close(r)
            _hf_child(job, w)
        finally:
            _hf_os._exit(0)
    _hf_os.close(w)
    results, buf = [], b""
    deadline = _hf_time.monotonic() + job["import_timeout"]
    ready, eof = False, False
    while len(results) < n and not eof:
        left = deadline - _hf_time.monotonic()
        if left <= 0:
            results.append({"outcome": "timeout"} if ready else {"outcome": "error", "detail": "imports took over %gs" % job["import_timeout"]})
            break
        if not _hf_select.select([r], [], [], left)[0]:
            continue
        chunk = _hf_os.read(r, 65536)
        if not chunk:
            eof = True
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = _hf_json.loads(line)
            deadline = _hf_time.monotonic() + job["timeout"]
            if msg.get("ready"):
                ready = True
                continue
            results.append(msg)
            if msg["outcome"] != "pass" and job.get("stop_on_fail", True):
                eof = True
    if len(results) < n and eof and (not results or results[-1]["outcome"] == "pass"):
        results.append({"outcome": "error", "detail": "the program ended the process"})
    _hf_os.close(r)
    try:
        _hf_os.killpg(pid, _hf_signal.SIGKILL)
    except OSError:
        pass
    _hf_reap_others()
    print(_hf_json.dumps(results))
