package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEscapes runs shell code written to get out of the sandbox: read the
// host's files, write outside /tmp, reach the network, see or signal host
// processes, or be anyone but an unprivileged user. bash and its builtins
// only: the sandbox binds nothing of /usr/bin but the command itself.
func TestEscapes(t *testing.T) {
	s := newSandbox(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	hostPaths := []string{"/etc/shadow", "/etc/passwd", "/root", home, exe, wd, "/work",
		"/usr/local", "/usr/bin/ls", "/usr/sbin", "/usr/share/doc", "/usr/include", "/var", "/run"}
	var exists strings.Builder
	for _, p := range hostPaths {
		if p == "" || within("/tmp", p) {
			continue // the sandbox has a /tmp of its own
		}
		fmt.Fprintf(&exists, "[[ -e %q ]] && echo %q\n", p, p)
	}
	cases := []struct {
		name   string
		script string
		want   string // stdout
	}{
		{"uid and capabilities", `while read -r k v; do case $k in Uid:|Gid:|CapEff:|CapPrm:|NoNewPrivs:|Seccomp:) echo $k $v;; esac; done </proc/self/status`,
			"Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"},
		{"host files invisible", exists.String() + "echo done", "done\n"},
		{"write outside tmp", `for p in /usr/evil /etc/evil /evil /dev/evil /dev/shm/evil /proc/evil /bin/evil; do (echo x > $p) 2>/dev/null && echo WRITTEN $p; done; echo x > /tmp/ok && echo tmp ok`,
			"tmp ok\n"},
		{"tcp to the host", fmt.Sprintf(`(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo CONNECTED; (exec 3<>/dev/udp/1.1.1.1/53 && echo x >&3) 2>/dev/null && echo SENT; echo done`, port),
			"done\n"},
		{"host processes invisible", fmt.Sprintf(`echo /proc/[0-9]*; [[ -e /proc/%d ]] && echo HOST PID; echo $(</proc/sys/kernel/hostname)`, os.Getpid()),
			"/proc/1 /proc/2\nsandbox\n"},
		{"signal host processes", fmt.Sprintf(`kill -9 %d 2>/dev/null || echo refused; kill -9 -1 2>/dev/null; echo alive`, os.Getpid()),
			"refused\nalive\n"},
		{"environment is the sandbox's", `echo "$HOME $TMPDIR $PWD $PATH"; [[ -z $HINTFLEET_SECRET ]] && echo clean`,
			"/tmp /tmp /tmp /usr/local/bin:/usr/bin:/bin\nclean\n"},
	}
	t.Setenv("HINTFLEET_SECRET", "host-secret")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bash(t, s, tc.script)
			if r.err != nil || r.stdout != tc.want {
				t.Errorf("stdout %q err %v stderr %q; want %q", r.stdout, r.err, r.stderr, tc.want)
			}
		})
	}
	ln.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Error("the test's listener saw a connection from the sandbox")
	}
}

// TestInheritedDescriptorsDoNotReachTheSandbox plants what a careless
// launcher leaves open without close-on-exec (`9</` and `9<secret` in a
// shell) and checks that the sandboxed command sees neither, while the
// ExtraFiles it was given arrive as fds 3 and up and bwrap's own pipes
// (info, block, seccomp) are gone.
func TestInheritedDescriptorsDoNotReachTheSandbox(t *testing.T) {
	requirePython(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("planted-secret-7f3a"), 0o600); err != nil {
		t.Fatal(err)
	}
	const rootFD, secretFD = 201, 202
	for fd, path := range map[int]string{rootFD: "/", secretFD: secret} {
		// syscall.Open, unlike os.Open, leaves close-on-exec off.
		tmp, err := syscall.Open(path, syscall.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Dup2(tmp, fd); err != nil {
			t.Fatal(err)
		}
		syscall.Close(tmp)
		t.Cleanup(func() { syscall.Close(fd) })
	}
	s := newSandbox(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pw.Close()
	c := s.Command(testCtx(t), python, "-I", "-c", fmt.Sprintf(`import os
links = {}
for f in os.listdir('/proc/self/fd'):
    try:
        links[int(f)] = os.readlink('/proc/self/fd/' + f)
    except OSError:
        pass
print(' '.join(f'{fd}={l}' for fd, l in sorted(links.items())))
for fd in (%d, %d):
    try:
        print(os.listdir(fd))
    except OSError as e:
        print('listdir', fd, e.strerror)
    try:
        print(os.pread(fd, 100, 0))
    except OSError as e:
        print('read', fd, e.strerror)`, rootFD, secretFD))
	c.ExtraFiles = []*os.File{pr}
	r := runCmd(t, c)
	if r.err != nil {
		t.Fatalf("run: %v\n%s", r.err, r.stderr)
	}
	if strings.Contains(r.stdout, "planted-secret") || strings.Contains(r.stdout, "'proc'") {
		t.Fatalf("sandboxed code read through an inherited descriptor:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "Bad file descriptor"); n != 4 {
		t.Errorf("want EBADF for all four uses of the planted descriptors, got:\n%s%s", r.stdout, r.stderr)
	}
	first, _, _ := strings.Cut(r.stdout, "\n")
	sawExtra := false
	for _, f := range strings.Fields(first) {
		fd, target, _ := strings.Cut(f, "=")
		switch {
		case fd == "3" && strings.HasPrefix(target, "pipe:"):
			sawExtra = true
		case fd == "0" || fd == "1" || fd == "2":
		case strings.HasPrefix(target, "/proc/"): // the listing itself
		default:
			t.Errorf("fd %s (%s) open in the sandbox; all: %s", fd, target, first)
		}
	}
	if !sawExtra {
		t.Errorf("ExtraFiles[0] is not fd 3 in the sandbox: %s", first)
	}
}

// TestSeccompDeniesKernelInterfaces calls each denied system call from
// inside the sandbox through ctypes. Without the filter some succeed
// (keyctl) and others fail only on their arguments (EFAULT, EINVAL).
func TestSeccompDeniesKernelInterfaces(t *testing.T) {
	requirePython(t)
	s := newSandbox(t)
	calls := []struct {
		name string
		nr   uintptr
		args string
		want string
	}{
		{"io_uring_setup", unix.SYS_IO_URING_SETUP, "1, 0", "EPERM"},
		{"io_uring_enter", unix.SYS_IO_URING_ENTER, "0, 0, 0, 0, 0, 0", "EPERM"},
		{"io_uring_register", unix.SYS_IO_URING_REGISTER, "0, 0, 0, 0", "EPERM"},
		{"keyctl", unix.SYS_KEYCTL, "0, -3, 0", "EPERM"}, // KEYCTL_GET_KEYRING_ID of the session keyring
		{"add_key", unix.SYS_ADD_KEY, "0, 0, 0, 0, 0", "EPERM"},
		{"request_key", unix.SYS_REQUEST_KEY, "0, 0, 0, 0", "EPERM"},
		{"bpf", unix.SYS_BPF, "0, 0, 0", "EPERM"},
		{"perf_event_open", unix.SYS_PERF_EVENT_OPEN, "0, 0, -1, -1, 0", "EPERM"},
		{"ptrace", unix.SYS_PTRACE, "2, 1, 0, 0", "EPERM"}, // PTRACE_PEEKDATA of pid 1
		{"process_vm_readv", unix.SYS_PROCESS_VM_READV, "1, 0, 0, 0, 0, 0", "EPERM"},
		{"userfaultfd", unix.SYS_USERFAULTFD, "0", "EPERM"},
		{"mount", unix.SYS_MOUNT, "0, 0, 0, 0, 0", "EPERM"},
		{"fsopen", unix.SYS_FSOPEN, "0, 0", "EPERM"},
		{"open_tree", unix.SYS_OPEN_TREE, "-100, 0, 0", "EPERM"},
		{"setns", unix.SYS_SETNS, "0, 0", "EPERM"},
		{"unshare CLONE_NEWUSER", unix.SYS_UNSHARE, fmt.Sprint(unix.CLONE_NEWUSER), "EPERM"},
		{"clone3", unix.SYS_CLONE3, "0, 0", "ENOSYS"},
		{"init_module", unix.SYS_INIT_MODULE, "0, 0, 0", "EPERM"},
		{"kexec_load", unix.SYS_KEXEC_LOAD, "0, 0, 0, 0", "EPERM"},
	}
	var b strings.Builder
	b.WriteString("import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n")
	for _, c := range calls {
		fmt.Fprintf(&b, "ctypes.set_errno(0)\nr = libc.syscall(%d, *[ctypes.c_long(a) for a in (%s,)])\nprint(%q, r, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))\n",
			c.nr, c.args, c.name)
	}
	r := run(t, s, python, "-I", "-c", b.String())
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(calls) {
		t.Fatalf("got %d lines, want %d:\n%s\n%s", len(lines), len(calls), r.stdout, r.stderr)
	}
	for k, c := range calls {
		if want := fmt.Sprintf("%s -1 %s", c.name, c.want); lines[k] != want {
			t.Errorf("%s: %q, want %q", c.name, lines[k], want)
		}
	}
	// What the filter must leave alone: threads (glibc falls back from
	// clone3 to clone), fork, a subprocess.
	r = run(t, s, python, "-I", "-c", `import os, sys, threading, subprocess
t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
print('fork', os.waitpid(pid, 0)[1] >> 8)
print(subprocess.run([sys.executable, '-c', 'print(6*7)'], capture_output=True, text=True).stdout.strip())`)
	if r.stdout != "thread\nfork 7\n42\n" {
		t.Errorf("ordinary calls under the filter: stdout %q stderr %q err %v", r.stdout, r.stderr, r.err)
	}
}

// TestNoRootFallback makes starting bwrap as nobody fail (the binary sits
// in a directory only root may enter) and checks that New refuses and says
// why instead of quietly running the sandbox as root, unless
// WithInsecureSandboxAsRoot asks for exactly that.
func TestNoRootFallback(t *testing.T) {
	requireBwrap(t)
	if os.Geteuid() != 0 {
		t.Skip("the fallback exists only when the caller runs as root")
	}
	path, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatal(err)
	}
	sys, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // 0700: uid 65534 cannot reach what is inside
	bw := filepath.Join(dir, "bwrap")
	if err := os.WriteFile(bw, sys, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = New(testCtx(t), WithBwrap(bw), WithLogger(testLogger()))
	if !errors.Is(err, ErrNoSandbox) || !strings.Contains(err.Error(), "--insecure-sandbox-as-root") {
		t.Fatalf("New with bwrap unreachable for nobody: %v, want ErrNoSandbox naming --insecure-sandbox-as-root", err)
	}
	s := newSandbox(t, WithBwrap(bw), WithInsecureSandboxAsRoot())
	if r := bash(t, s, "echo $UID"); r.err != nil || r.stdout != "65534\n" {
		t.Errorf("sandbox as root: %+v", r)
	}
}
