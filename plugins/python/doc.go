// Package python is the hintfleet tool that runs model-written Python in a
// sandbox: one interpreter process per session, each inside its own
// bubblewrap sandbox, so that code which loops, forks, eats memory, fills
// the disk or opens sockets hurts only its own session.
//
// # Sandbox
//
// Each interpreter runs as `bwrap <flags> -- python3 -I -B -c <kernel.py>`:
//
//   - --unshare-all --unshare-user --disable-userns: own user, pid, net,
//     ipc, uts and cgroup namespaces; no network (only a loopback of its
//     own), no view of host processes (/proc shows pid 1, bwrap's init, and
//     the interpreter), no nested user namespaces.
//   - --uid 65534 --gid 65534 --cap-drop ALL: not root inside, no
//     capabilities. When the host runs as root, bwrap itself is started as
//     uid 65534 (SysProcAttr.Credential), because the kernel never applies
//     RLIMIT_NPROC to host root; as nobody, and with a user namespace per
//     sandbox, RLIMIT_NPROC counts per sandbox. If that start fails (no
//     unprivileged user namespaces), New refuses with ErrNoSandbox and says
//     why; only WithInsecureSandboxAsRoot (--insecure-sandbox-as-root)
//     runs bwrap as root instead.
//   - --seccomp: a filter built in Go (seccomp.go) for amd64 and arm64
//     denies io_uring, keyrings, bpf, perf_event_open, ptrace and
//     process_vm_*, userfaultfd, the mount family old and new, kexec,
//     modules, swap, reboot, setns, clock setting, handle-based opens, and
//     unshare or clone of a user namespace (EPERM); clone3 gets ENOSYS so
//     glibc falls back to clone, whose flags a filter can read; calls of
//     another ABI (i386, x32) are refused as a whole.
//   - No inherited descriptors: before each start every descriptor of the
//     plugin above 2 is made close-on-exec (close_range), so only stdio,
//     the protocol pipes and the two pipes bwrap is told about reach it.
//   - Read-only binds of /usr/lib (and /usr/lib64, /lib... where they are
//     directories; merged-/usr symlinks are recreated), the interpreter
//     binary, the directories where the host's interpreter finds its
//     standard library and the preloads (asked once in New), and
//     --ro-bind-try /etc/ld.so.cache, /etc/alternatives, /etc/localtime.
//     Nothing else: no /usr/local, /usr/bin, /usr/share, no /etc/passwd or
//     shadow, no /root or /home, no plugin binary directory.
//   - --proc /proc --dev /dev, then --remount-ro /dev and / : the root and
//     /dev are tmpfs mounts without a size cap, so they are made read-only.
//   - --size N --tmpfs /tmp, --chdir /tmp: the only writable place, capped
//     at Limits.TmpfsBytes; HOME=TMPDIR=/tmp, --clearenv and a fixed
//     environment (one BLAS thread).
//   - --die-with-parent, --new-session, and the Go side sets Pdeathsig and
//     its own process group: the sandbox dies with the plugin.
//
// Inside, kernel.py sets rlimits (hard = soft) after importing the preloads
// and before reading any code: RLIMIT_AS (Limits.MemoryBytes; MemoryError,
// reported as kind memory), RLIMIT_CPU (per session, SIGXCPU reported as
// timeout), RLIMIT_NPROC (Limits.Processes, threads included), RLIMIT_FSIZE
// (Limits.FileBytes; SIGXFSZ is ignored so writes fail with EFBIG, kind
// output_limit), RLIMIT_NOFILE and RLIMIT_CORE=0. The wall-clock limit is
// the Go side's: on timeout it kills the sandbox's pid 1 through a pidfd,
// which makes the kernel kill the whole pid namespace, and waits on the
// pidfd until the namespace is empty.
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
