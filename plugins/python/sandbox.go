package python

import (
	"bytes"
	"context"
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

// rootLinks are recreated as the same symlinks when they are symlinks
// (merged-/usr systems); the library ones are bound read-only when they are
// directories, since the C library and the dynamic linker live there.
var rootLinks = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// libDirs hold the dynamic linker, the shared libraries numpy links
// (BLAS, LAPACK, gfortran), the interpreter's standard library and the
// distribution's packages. Nothing else of /usr is bound: not /usr/local
// (where other software and its configuration live), /usr/bin, /usr/sbin
// or /usr/share. The interpreter binary itself is bound file by file, and
// directories the host's interpreter finds the preloads in are added by
// probePythonPaths.
var libDirs = []string{"/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/lib", "/lib32", "/lib64", "/libx32"}

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
	// binds are the read-only binds, computed once by New.
	binds []string
	// seccomp is the filter bwrap loads before it starts the interpreter.
	seccomp []byte
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
	// fds 5 and 6 are ExtraFiles set by start: bwrap writes the sandbox's
	// pid to the first and reads the seccomp filter from the second.
	args := append(l.bwrapArgs(), "--info-fd", "5", "--seccomp", "6", "--")
	cmd := exec.Command(l.bwrap, append(args, py...)...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if l.asNobody {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{}}
	}
	return cmd, func() {}, nil
}

// bwrapArgs are the sandbox flags; see the package doc for what each one
// stops. The caller adds --info-fd and --seccomp.
func (l *launch) bwrapArgs() []string {
	id := strconv.Itoa(nobodyID)
	args := []string{
		"--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
		"--uid", id, "--gid", id, "--hostname", "sandbox",
		"--die-with-parent", "--new-session",
	}
	for _, d := range rootLinks {
		fi, err := os.Lstat(d)
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		}
	}
	for _, b := range l.binds {
		args = append(args, "--ro-bind", b, b)
	}
	for _, f := range etcFiles {
		args = append(args, "--ro-bind-try", f, f)
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
	return args
}

// sandboxBinds lists what the sandbox binds read-only: libDirs that are
// real directories, the interpreter binary (and the file its symlinks
// lead to), the directories extra names (the preloads' homes, the
// standard library when it lives elsewhere) and WithReadOnlyBind's paths.
// A path inside one already bound is left out.
func sandboxBinds(python string, extra, user []string) ([]string, error) {
	var binds []string
	add := func(p string) {
		for _, b := range binds {
			if within(b, p) {
				return
			}
		}
		binds = append(binds, p)
	}
	for _, d := range libDirs {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			add(d)
		}
	}
	real, err := filepath.EvalSymlinks(python)
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	add(python)
	add(real)
	for _, p := range extra {
		add(p)
	}
	for _, p := range user {
		add(p)
	}
	return binds, nil
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// probeScript prints, as JSON, the directories the interpreter needs beyond
// libDirs: its standard library and where each preload module is found.
// find_spec on a top-level name locates the module without running it.
const probeScript = `import importlib.util, json, os, sys, sysconfig
paths = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
missing = []
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        missing.append(name)
        continue
    d = os.path.dirname(spec.origin)
    if spec.submodule_search_locations:
        d = os.path.dirname(d)
    paths.add(d)
print(json.dumps({"paths": sorted(paths), "missing": missing}))
`

// probePythonPaths asks the host's interpreter (outside any sandbox; it is
// the operator's own binary) where its standard library and the preloads
// live, so that exactly those directories are bound.
func probePythonPaths(ctx context.Context, python string, preload []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{"-I", "-c", probeScript}, preload...)...)
	cmd.Env = []string{"LANG=C.UTF-8"}
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("probe %s for its library paths: %w", python, err)
	}
	var res struct {
		Paths   []string `json:"paths"`
		Missing []string `json:"missing"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("probe %s for its library paths: decode %q: %w", python, out, err)
	}
	if len(res.Missing) > 0 {
		return nil, fmt.Errorf("python %s: preload modules not installed: %s", python, strings.Join(res.Missing, ", "))
	}
	var paths []string
	for _, p := range res.Paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && filepath.IsAbs(p) {
			paths = append(paths, filepath.Clean(p))
		}
	}
	return paths, nil
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
