package python

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed kernel.py
var kernelSource string

// sandboxEnv is the whole environment the code sees: nothing of the host's.
// One BLAS thread keeps RLIMIT_AS and RLIMIT_NPROC meaningful (OpenBLAS maps
// a large arena per thread) and the host's cores shared.
var sandboxEnv = []string{
	"HOME=/tmp",
	"TMPDIR=/tmp",
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"LANG=C.UTF-8",
	"PYTHONDONTWRITEBYTECODE=1",
	"OPENBLAS_NUM_THREADS=1",
	"OMP_NUM_THREADS=1",
	"MKL_NUM_THREADS=1",
	"MPLCONFIGDIR=/tmp",
}

// etcFiles are the only pieces of the host's /etc the sandbox sees: the
// dynamic linker's cache, Debian's alternatives (libblas.so.3 for numpy
// lives behind /etc/alternatives) and the time zone. No passwd, no shadow,
// no resolv.conf (there is no network anyway).
var etcFiles = []string{"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"}

// rootDirs are bound read-only when they are directories and recreated as
// the same symlink when they are symlinks (merged-/usr systems).
var rootDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// kernelConfig is what kernel.py reads from argv[1].
type kernelConfig struct {
	MemoryBytes int64    `json:"memory_bytes"`
	OutputBytes int64    `json:"output_bytes"`
	Processes   int64    `json:"processes"`
	FileBytes   int64    `json:"file_bytes"`
	OpenFiles   int64    `json:"open_files"`
	CPUSeconds  int64    `json:"cpu_seconds"`
	Preload     []string `json:"preload"`
}

// launch says how to start interpreters; New fills it once.
type launch struct {
	cfg *config
	// bwrap is empty in insecure mode.
	bwrap string
	// asNobody starts bwrap itself as uid/gid 65534 when the host runs as
	// root. RLIMIT_NPROC is never enforced for a process whose real uid is
	// host root (the kernel exempts INIT_USER), and bwrap run by root maps
	// the sandbox's uid to host uid 0; started as nobody, the sandbox's
	// processes belong to host uid 65534 and, since each sandbox has its own
	// user namespace, RLIMIT_NPROC counts per sandbox.
	asNobody bool
}

// command builds the process for one interpreter. The returned cleanup
// removes the insecure mode's working directory, if any.
func (l *launch) command() (*exec.Cmd, func(), error) {
	c := l.cfg
	kcfg, err := json.Marshal(kernelConfig{
		MemoryBytes: c.limits.MemoryBytes,
		OutputBytes: c.limits.OutputBytes,
		Processes:   c.limits.Processes,
		FileBytes:   c.limits.FileBytes,
		OpenFiles:   c.limits.OpenFiles,
		CPUSeconds:  int64(c.cpuTime / time.Second),
		Preload:     c.preload,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode kernel config: %w", err)
	}
	py := []string{c.python, "-I", "-B", "-c", kernelSource, string(kcfg)}
	if l.bwrap == "" {
		dir, err := os.MkdirTemp("", "hintfleet-python-insecure-")
		if err != nil {
			return nil, nil, fmt.Errorf("insecure work dir: %w", err)
		}
		cmd := exec.Command(py[0], py[1:]...)
		cmd.Dir = dir
		cmd.Env = append([]string{"HOME=" + dir, "TMPDIR=" + dir}, sandboxEnv[2:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		return cmd, func() { os.RemoveAll(dir) }, nil
	}
	cmd := exec.Command(l.bwrap, append(l.bwrapArgs(), py...)...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if l.asNobody {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{}}
	}
	return cmd, func() {}, nil
}

// bwrapArgs are the sandbox flags; see the package doc and the report in
// ARCHITECTURE.md for what each one stops.
func (l *launch) bwrapArgs() []string {
	id := strconv.Itoa(nobodyID)
	args := []string{
		"--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
		"--uid", id, "--gid", id, "--hostname", "sandbox",
		"--die-with-parent", "--new-session",
		"--info-fd", "5",
	}
	for _, d := range rootDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		case fi.IsDir():
			args = append(args, "--ro-bind", d, d)
		}
	}
	for _, f := range etcFiles {
		args = append(args, "--ro-bind-try", f, f)
	}
	for _, d := range l.cfg.roBinds {
		args = append(args, "--ro-bind", d, d)
	}
	args = append(args,
		"--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(l.cfg.limits.TmpfsBytes, 10), "--tmpfs", "/tmp",
		// The root and /dev are tmpfs mounts without a size cap; only /tmp
		// stays writable.
		"--remount-ro", "/dev", "--remount-ro", "/",
		"--chdir", "/tmp", "--clearenv",
	)
	for _, kv := range sandboxEnv {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	return append(args, "--")
}

// pythonVisible reports whether path lies under a directory the sandbox
// binds, so New can refuse an interpreter the sandbox cannot see.
func (l *launch) pythonVisible(path string) bool {
	if l.bwrap == "" {
		return true
	}
	dirs := append([]string{"/usr", "/bin", "/lib", "/lib64"}, l.cfg.roBinds...)
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

// boundedBuffer keeps the last n bytes written: bwrap's and the kernel's
// diagnostics, for error messages. It never grows past n.
type boundedBuffer struct {
	mu  sync.Mutex
	buf []byte
	n   int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) >= b.n {
		b.buf = append(b.buf[:0], p[len(p)-b.n:]...)
		return len(p), nil
	}
	if over := len(b.buf) + len(p) - b.n; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// readInfo reads bwrap's --info-fd JSON and returns the host pid of the
// sandbox's pid 1. bwrap closes the fd after writing, so EOF ends it.
func readInfo(r io.Reader) (int, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("read bwrap info: %w", err)
	}
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return 0, fmt.Errorf("decode bwrap info %q: %w", data, err)
	}
	if info.ChildPID <= 0 {
		return 0, errors.New("bwrap info: no child-pid")
	}
	return info.ChildPID, nil
}
