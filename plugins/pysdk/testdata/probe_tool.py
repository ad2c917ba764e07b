#!/usr/bin/python3
"""probe: a test tool that reports what the SDK handed it and fails on
request, so the Go test sees every path of hintfleet_tool through the host.

Exec's code is a command: "echo" (stdout: lang|timeout|stateless|trajectory),
"big N" (N bytes of output), "timeout" (a Result with error_kind TIMEOUT),
"invalid", "unavailable", "boom" (exceptions), "notresult" (a wrong return).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), ".."))
import hintfleet_tool as ht  # noqa: E402


class Probe:
    def __init__(self):
        self.sessions = ht.Sessions()

    def describe(self):
        return ht.Description(name="probe", version="1.2.3", languages=["probe", "probe2"],
                              limits=ht.Limits(timeout=7.5, output_bytes=1000, memory_bytes=1 << 20))

    def open(self, req):
        return self.sessions.new(req)

    def exec(self, req):
        opened = self.sessions.get(req.session)
        cmd, _, arg = req.code.partition(" ")
        if cmd == "echo":
            return ht.Result(stdout=f"{req.lang}|{req.timeout}|{opened.stateless}|{opened.trajectory}|{opened.ttl}")
        if cmd == "big":
            return ht.Result(stdout="x" * int(arg), stderr="y" * int(arg), exit_code=3)
        if cmd == "timeout":
            return ht.Result(exit_code=-1, error_kind=ht.TIMEOUT, error="too slow", duration=1.5)
        if cmd == "invalid":
            raise ht.InvalidRequest("bad code")
        if cmd == "unavailable":
            raise ht.Unavailable("busy")
        if cmd == "notresult":
            return "a string"
        raise RuntimeError("boom")

    def close(self, session):
        self.sessions.pop(session)

    def shutdown(self):
        marker = os.environ.get("PROBE_STOPPED")
        if marker:
            with open(marker, "w") as f:
                f.write("stopped\n")


if __name__ == "__main__":
    ht.serve(Probe())
