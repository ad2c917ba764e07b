// Package python is the hintfleet tool that runs model-written Python in a
// sandbox: one interpreter process per session, each inside its own
// bubblewrap sandbox, so that code which loops, forks, eats memory, fills
// the disk or opens sockets hurts only its own session.
//
// # Sandbox
//
// Each interpreter runs in plugins/sandbox, the sandbox every hintfleet
// tool shares (its package doc lists what each flag stops): as
// `bwrap <flags> -- python3 -I -B -c <kernel.py>`, uid 65534 in its own
// namespaces, no network, a read-only root, a private /tmp capped at
// Limits.TmpfsBytes, the seccomp filter, no inherited descriptors, rlimits
// set before the interpreter starts, killed with its pid namespace. What
// the python tool adds:
//
//   - Binds: besides /usr/lib and the interpreter binary, the directories
//     where the host's interpreter finds its standard library and the
//     preloads (asked once in New), and the paths of
//     sandbox.WithReadOnlyBind given through WithSandboxOptions. Not
//     /usr/bin: the code runs Python, not the host's programs.
//   - Environment: one BLAS thread (OpenBLAS maps a large arena per
//     thread), so RLIMIT_AS and RLIMIT_NPROC stay meaningful.
//   - kernel.py sets the same rlimits again from inside, after importing
//     the preloads and before reading any code (the insecure mode has only
//     these): MemoryError is reported as kind memory, SIGXCPU as timeout,
//     and SIGXFSZ is ignored so writes fail with EFBIG, kind output_limit.
//   - No wall-clock limit on the process: an interpreter lives as long as
//     its session. The per-call limit is the Go side's: on timeout it kills
//     the sandbox (sandbox.Cmd.Kill), and the session's state is lost.
//
// # Protocol
//
// The Go side and kernel.py speak length-prefixed JSON over two inherited
// pipes (fds 3 and 4), never over the code's stdout. The code's prints go to
// bounded in-memory buffers (Limits.OutputBytes each), its fds 1 and 2 to a
// memfd bounded by RLIMIT_FSIZE, and the Go side never reads a frame larger
// than the output cap allows. Code that closes stdout, prints a gigabyte or
// invalid UTF-8, or exits cannot confuse the host; code that writes to fd 4
// can only break its own session, which is then killed.
//
// # Pool
//
// Latency comes from a warm pool: interpreters that already sit in their
// sandbox with numpy and sympy imported. Open takes one; Exec costs the
// code's own time plus a pipe round trip (about 150 µs). An interpreter
// never serves a second session: when its session closes it is killed.
//
// Interpreter implements plugins.Tool; plugins/cmd/hintfleet-python serves it
// over go-plugin.
package python
