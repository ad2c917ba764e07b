package python

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hintfleet/hintfleet/plugins"
)

// TestInheritedDescriptorsDoNotReachTheSandbox plants what a careless
// launcher leaves open without close-on-exec (`9</` and `9<secret` in a
// shell) and checks that the sandboxed code sees neither: before the fix
// it listed the host's root and read the 0600 file through them.
func TestInheritedDescriptorsDoNotReachTheSandbox(t *testing.T) {
	requireSandbox(t)
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
	i := newInterpreter(t, WithPoolSize(0))
	id := open(t, i, plugins.OpenRequest{})
	res := run(t, i, id, fmt.Sprintf(`import os
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))
links = {}
for fd in fds:
    try:
        links[fd] = os.readlink(f'/proc/self/fd/{fd}')
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
	if strings.Contains(res.Stdout, "planted-secret") || strings.Contains(res.Stdout, "'proc'") {
		t.Fatalf("sandboxed code read through an inherited descriptor:\n%s", res.Stdout)
	}
	if n := strings.Count(res.Stdout, "Bad file descriptor"); n != 4 {
		t.Errorf("want EBADF for all four uses of the planted descriptors, got:\n%s%s", res.Stdout, res.Stderr)
	}
	// The interpreter keeps 0-2, the protocol pipes 3 and 4 and what it
	// opens itself (the output memfd, the directory listed above); bwrap's
	// info and seccomp pipes and anything of the host must be gone.
	first, _, _ := strings.Cut(res.Stdout, "\n")
	for _, f := range strings.Fields(first) {
		fd, target, _ := strings.Cut(f, "=")
		switch {
		case fd == "3" || fd == "4":
		case strings.HasPrefix(target, "pipe:") || target == "/" || strings.Contains(target, "secret") ||
			fd == fmt.Sprint(rootFD) || fd == fmt.Sprint(secretFD):
			t.Errorf("fd %s (%s) open in the sandbox; all: %s", fd, target, first)
		}
	}
}

// TestSeccompDeniesKernelInterfaces calls each denied system call from
// inside the sandbox through ctypes. Before the filter some succeeded
// (keyctl) and others failed only on their arguments (EFAULT, EINVAL).
func TestSeccompDeniesKernelInterfaces(t *testing.T) {
	i := sharedInterpreter(t)
	id := open(t, i, plugins.OpenRequest{})
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
	res := run(t, i, id, b.String())
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != len(calls) {
		t.Fatalf("got %d lines, want %d:\n%s\n%s", len(lines), len(calls), res.Stdout, res.Stderr)
	}
	for k, c := range calls {
		if want := fmt.Sprintf("%s -1 %s", c.name, c.want); lines[k] != want {
			t.Errorf("%s: %q, want %q", c.name, lines[k], want)
		}
	}
	// What the filter must leave alone: threads (glibc falls back from
	// clone3 to clone), fork, a subprocess of the interpreter itself.
	res = run(t, i, id, `import os, sys, threading, subprocess
t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
print('fork', os.waitpid(pid, 0)[1] >> 8)
print(subprocess.run([sys.executable, '-c', 'print(6*7)'], capture_output=True, text=True).stdout.strip())`)
	if res.Stdout != "thread\nfork 7\n42\n" {
		t.Errorf("ordinary calls under the filter: stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}

// TestNoRootFallback makes starting bwrap as nobody fail (the binary sits
// in a directory only root may enter) and checks that New refuses and says
// why instead of quietly running the sandbox as root, unless
// WithInsecureSandboxAsRoot asks for exactly that.
func TestNoRootFallback(t *testing.T) {
	requireSandbox(t)
	if os.Geteuid() != 0 {
		t.Skip("the fallback exists only when the plugin runs as root")
	}
	sys, err := os.ReadFile(mustLookPath(t, "bwrap"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // 0700: uid 65534 cannot reach what is inside
	bw := filepath.Join(dir, "bwrap")
	if err := os.WriteFile(bw, sys, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = New(WithBwrap(bw), WithPoolSize(0), WithPreload(), WithLogger(testLogger()))
	if !errors.Is(err, ErrNoSandbox) || !strings.Contains(err.Error(), "--insecure-sandbox-as-root") {
		t.Fatalf("New with bwrap unreachable for nobody: %v, want ErrNoSandbox naming --insecure-sandbox-as-root", err)
	}
	i := newInterpreter(t, WithBwrap(bw), WithPoolSize(0), WithPreload(), WithInsecureSandboxAsRoot())
	id := open(t, i, plugins.OpenRequest{})
	if res := run(t, i, id, "print(1+1)"); res.Stdout != "2\n" {
		t.Errorf("sandbox as root: %+v", res)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
