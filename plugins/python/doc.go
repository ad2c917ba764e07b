// Package python is the hintfleet tool that runs model-written Python in a
// sandbox: one interpreter process per session, each inside its own
// bubblewrap sandbox (own user, pid, net, ipc and uts namespaces, read-only
// system directories, a private size-capped tmpfs, rlimits on memory, CPU,
// processes, file size and open files), so that code which loops, forks,
// eats memory, fills the disk or opens sockets hurts only its own session.
//
// Latency comes from a warm pool: interpreters that already sit in their
// sandbox with numpy and sympy imported. Open takes one from the pool; Exec
// costs the code's own time plus a pipe round trip. An interpreter never
// serves a second session: when its session closes it is killed.
//
// The Go side and the interpreter speak length-prefixed JSON over two
// inherited pipes (fds 3 and 4), never over the code's stdout, so code that
// closes stdout, prints garbage or exits cannot confuse the host. See
// kernel.py for the interpreter side.
//
// Interpreter implements plugins.Tool; plugins/cmd/hintfleet-python serves it
// over go-plugin.
package python
