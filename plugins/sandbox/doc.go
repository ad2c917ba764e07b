// Package sandbox runs a command in a bubblewrap sandbox built for hostile
// code: the one sandbox of hintfleet's tools. plugins/python runs its
// interpreters in it, plugins/bash its shells, and a new tool gets the same
// guarantees with
//
//	sb, err := sandbox.New(ctx, sandbox.WithLimits(sandbox.Limits{Timeout: 10 * time.Second}))
//	...
//	cmd := sb.Command(ctx, "/bin/bash", "-c", code)
//	cmd.Stdout, cmd.Stderr = &stdout, &stderr
//	err = cmd.Run() // nil, or *sandbox.ExitError: Code, Signal, Cause (ErrTimeout, ErrKilled, the ctx's)
//
// New checks once that sandboxes start on this host; Command is then cheap
// (about 10 ms to a running command). A Cmd is used like an exec.Cmd
// (Stdin, Stdout, Stderr, ExtraFiles, Start, Wait, Run, Output) plus Kill,
// which returns only when nothing of the sandbox runs.
//
// # What a command gets
//
// Each Cmd runs as `bwrap <flags> -- name args...`:
//
//   - --unshare-all --unshare-user --disable-userns: own user, pid, net,
//     ipc, uts and cgroup namespaces; no network (only a loopback of its
//     own), no view of host processes (/proc shows pid 1, bwrap's init, and
//     the command's tree), no nested user namespaces.
//   - --uid 65534 --gid 65534 --cap-drop ALL: not root inside, no
//     capabilities. When the host runs as root, bwrap itself is started as
//     uid 65534 (SysProcAttr.Credential), because the kernel never applies
//     RLIMIT_NPROC to host root; as nobody, and with a user namespace per
//     sandbox, RLIMIT_NPROC counts per sandbox. If that start fails (no
//     unprivileged user namespaces), New refuses with ErrNoSandbox and says
//     why; only WithInsecureSandboxAsRoot (a tool's
//     --insecure-sandbox-as-root) runs bwrap as root instead.
//   - Read-only binds of /usr/lib (and /usr/lib64, /lib... where they are
//     directories; merged-/usr symlinks are recreated), of the command's
//     binary (at the path it has inside, and its symlink target), of what
//     WithReadOnlyBind names, and --ro-bind-try /etc/ld.so.cache,
//     /etc/alternatives, /etc/localtime. Nothing else: no /usr/local,
//     /usr/bin, /usr/share, no /etc/passwd or shadow, no /root or /home, no
//     directory of the tool's own binary. A tool whose commands need more
//     (a shell's coreutils: /usr/bin) binds it with WithReadOnlyBind.
//   - --proc /proc --dev /dev, then --remount-ro /dev and /: the root and
//     /dev are tmpfs mounts without a size cap, so they are made read-only.
//   - --size N --tmpfs /tmp, --chdir /tmp: the only writable place, capped
//     at Limits.TmpfsBytes (a read-only bind under /tmp is mounted on it,
//     after it, so that it is not hidden); --clearenv and a fixed environment (HOME and
//     TMPDIR /tmp, PATH, LANG=C.UTF-8, plus WithEnv and Cmd.Env). Nothing
//     of the host's environment.
//   - rlimits, set on the sandbox's pid 1 while bwrap holds it (--block-fd)
//     after the namespaces exist and before the command is forked, so the
//     command and all it starts inherit them and no instruction of it runs
//     unlimited: RLIMIT_AS (Limits.MemoryBytes), RLIMIT_NPROC (Processes,
//     threads included), RLIMIT_FSIZE (FileBytes: a larger write gets
//     SIGXFSZ, or EFBIG where the command ignores it), RLIMIT_NOFILE
//     (OpenFiles), RLIMIT_CPU (CPUTime: SIGXCPU, SIGKILL a second later),
//     RLIMIT_CORE 0. Hard equals soft, so the command cannot raise them.
//   - --seccomp: a filter built in Go (seccomp.go) for amd64 and arm64
//     denies io_uring, keyrings, bpf, perf_event_open, ptrace and
//     process_vm_*, userfaultfd, the mount family old and new, kexec,
//     modules, swap, reboot, setns, clock setting, handle-based opens, and
//     unshare or clone of a user namespace (EPERM); clone3 gets ENOSYS so
//     glibc falls back to clone, whose flags a filter can read; calls of
//     another ABI (i386, x32) are refused as a whole. Other architectures
//     have no table, and New refuses.
//   - No inherited descriptors: before each start every descriptor of the
//     calling process above 2 is made close-on-exec (close_range), so only
//     stdio, Cmd.ExtraFiles (fds 3 and up) and bwrap's three setup pipes
//     (closed before the command runs) reach it.
//   - A wall-clock limit (Limits.Timeout, per command Cmd.Timeout) and the
//     Command's ctx: either kills pid 1 of the sandbox through a pidfd,
//     which makes the kernel kill the whole pid namespace, and Kill waits
//     on the pidfd until the namespace is empty. --die-with-parent,
//     --new-session, Pdeathsig and a process group of its own: the sandbox
//     dies with the tool.
//
// WithInsecureNoSandbox runs commands without bubblewrap, for development
// machines only: a private working directory, the environment and the
// rlimits (set just after the start), nothing else.
//
// # The bash tool
//
// plugins/bash (served by plugins/cmd/hintfleet-bash, built by `make
// plugins`) is a tool built on this package: it serves ```bash, ```sh and
// ```shell fences, one shell per session in its own sandbox with /usr/bin
// and /usr/share bound read-only (coreutils, sed, awk, python3 and the rest
// of the host's /usr/bin), output capped, exit status and the way a block
// ended reported in plugins.ExecResult. Its package doc says what a model
// may expect from it.
package sandbox
