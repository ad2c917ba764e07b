package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// baseEnv is the environment every command starts from: nothing of the
// host's.
var baseEnv = []string{
	"HOME=/tmp",
	"TMPDIR=/tmp",
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"LANG=C.UTF-8",
}

// etcFiles are the only pieces of the host's /etc the sandbox sees: the
// dynamic linker's cache, Debian's alternatives (numpy's libblas.so.3
// lives behind /etc/alternatives) and the time zone. No passwd, no shadow,
// no resolv.conf (there is no network anyway).
var etcFiles = []string{"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"}

// rootLinks are recreated as the same symlinks when they are symlinks
// (merged-/usr systems); the library ones are bound read-only when they are
// directories, since the C library and the dynamic linker live there.
var rootLinks = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// libDirs hold the dynamic linker and the shared libraries. Nothing else of
// /usr is bound by default: not /usr/local (where other software and its
// configuration live), /usr/bin, /usr/sbin or /usr/share.
var libDirs = []string{"/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/lib", "/lib32", "/lib64", "/libx32"}

// Sandbox starts commands in bubblewrap sandboxes that share one
// configuration. New checks once that sandboxes start here; Command is then
// cheap. A Sandbox holds no processes and needs no Close; it is safe for
// concurrent use.
type Sandbox struct {
	cfg config
	// bwrap is empty in insecure mode.
	bwrap string
	// asNobody starts bwrap itself as uid/gid NobodyID when the host runs as
	// root. RLIMIT_NPROC is never enforced for a process whose real uid is
	// host root (the kernel exempts it), and bwrap run by root maps the
	// sandbox's uid to host uid 0; started as nobody, the sandbox's
	// processes belong to host uid 65534 and, since each sandbox has its own
	// user namespace, RLIMIT_NPROC counts per sandbox.
	asNobody bool
	// binds are the read-only binds every command gets.
	binds []string
	// seccomp is the filter bwrap loads before it starts the command.
	seccomp []byte

	// commandBinds caches the binds of each command binary.
	mu           sync.Mutex
	commandBinds map[string][]string
}

// New checks the sandbox: it finds bubblewrap, builds the seccomp filter
// and starts one sandbox (running /bin/sh -c :) to prove that it works. Run
// as root, it starts bubblewrap as uid NobodyID; when that fails it returns
// ErrNoSandbox unless WithInsecureSandboxAsRoot is given. Without
// bubblewrap it returns ErrNoSandbox unless WithInsecureNoSandbox is given.
func New(ctx context.Context, opts ...Option) (*Sandbox, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("sandbox option: %w", err)
		}
	}
	s := &Sandbox{cfg: cfg, commandBinds: make(map[string][]string)}
	if err := markInheritedCloseOnExec(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if cfg.insecure {
		cfg.logger.Warn("INSECURE: running model code WITHOUT a sandbox (--insecure-no-sandbox): it can read host files, use the network and signal host processes; only rlimits apply")
		return s, nil
	}
	bw := cfg.bwrap
	if bw == "" {
		var err error
		if bw, err = exec.LookPath("bwrap"); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoSandbox, err)
		}
	} else if _, err := os.Stat(bw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSandbox, err)
	}
	s.bwrap = bw
	s.asNobody = os.Geteuid() == 0
	filter, err := seccompFilter()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSandbox, err)
	}
	s.seccomp = seccompBytes(filter)
	for _, d := range libDirs {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			s.binds = addBind(s.binds, d)
		}
	}
	for _, b := range cfg.binds {
		s.binds = addBind(s.binds, b)
	}
	for _, find := range cfg.bindFinders {
		paths, err := find(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if p, err = bindPath(p); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
			s.binds = addBind(s.binds, p)
		}
	}
	probeErr := s.probe(ctx)
	if probeErr != nil && s.asNobody {
		// Starting bwrap as nobody needs unprivileged user namespaces. As
		// root bwrap still works, but the kernel does not apply
		// RLIMIT_NPROC to host root, and whatever escapes is root: only on
		// explicit request.
		if !cfg.asRoot {
			return nil, fmt.Errorf("%w: bwrap started as an unprivileged user (uid %d) failed, and running the sandbox as host root needs --insecure-sandbox-as-root (the process limit is then not enforced); the host probably lacks unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces): %v",
				ErrNoSandbox, NobodyID, probeErr)
		}
		s.asNobody = false
		if probeErr = s.probe(ctx); probeErr == nil {
			cfg.logger.Warn("INSECURE: sandbox runs as host root (--insecure-sandbox-as-root): process limit (RLIMIT_NPROC) not enforced")
		}
	}
	if probeErr != nil {
		return nil, fmt.Errorf("%w: probe: %v", ErrNoSandbox, probeErr)
	}
	return s, nil
}

// probe starts one sandbox that runs the shell's no-op.
func (s *Sandbox) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.startTimeout)
	defer cancel()
	err := s.Command(ctx, "/bin/sh", "-c", ":").Run()
	var ee *ExitError
	if errors.As(err, &ee) && ee.Stderr != "" {
		return fmt.Errorf("%w; bwrap said: %s", err, ee.Stderr)
	}
	return err
}

// Limits returns the limits commands get.
func (s *Sandbox) Limits() Limits { return s.cfg.limits }

// Insecure reports whether commands run without bubblewrap.
func (s *Sandbox) Insecure() bool { return s.bwrap == "" }

// bwrapArgs are the sandbox flags for a command whose own binary needs
// binds; see the package doc for what each one stops. The caller adds the
// descriptor flags.
func (s *Sandbox) bwrapArgs(binds []string, env []string) []string {
	id := strconv.Itoa(NobodyID)
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
	// A bind under /tmp goes after the sandbox's own /tmp is mounted, or
	// that tmpfs would hide it (a library or a checkout under /tmp).
	var underTmp []string
	for _, b := range binds {
		if strings.HasPrefix(b, "/tmp/") {
			underTmp = append(underTmp, b)
			continue
		}
		args = append(args, "--ro-bind", b, b)
	}
	for _, f := range etcFiles {
		args = append(args, "--ro-bind-try", f, f)
	}
	args = append(args,
		"--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(s.cfg.limits.TmpfsBytes, 10), "--tmpfs", "/tmp",
	)
	for _, b := range underTmp {
		args = append(args, "--ro-bind", b, b)
	}
	args = append(args,
		// The root and /dev are tmpfs mounts without a size cap; only /tmp
		// stays writable.
		"--remount-ro", "/dev", "--remount-ro", "/",
		"--chdir", "/tmp", "--clearenv",
	)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	return args
}

// bindsFor returns the sandbox's binds plus what running path needs: the
// binary at the path the sandbox will resolve it to (through the sandbox's
// own /bin symlinks) and the file its symlinks lead to. A path not found on
// the host is left to fail inside the sandbox, where the error reads like
// any missing command.
func (s *Sandbox) bindsFor(path string) []string {
	if !filepath.IsAbs(path) {
		return s.binds
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.commandBinds[path]; ok {
		return b
	}
	binds := append([]string{}, s.binds...)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		binds = addBind(binds, real)
		if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
			// /bin/bash on merged-/usr: /bin is a symlink in the sandbox
			// too, so the name resolves to /usr/bin/bash there.
			binds = addBind(binds, filepath.Join(dir, filepath.Base(path)))
		}
	}
	s.commandBinds[path] = binds
	return binds
}

// addBind appends p unless a bind already covers it.
func addBind(binds []string, p string) []string {
	for _, b := range binds {
		if within(b, p) {
			return binds
		}
	}
	return append(binds, p)
}

// within reports whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// TailBuffer keeps the last N bytes written to it: diagnostics for error
// messages that must not grow with what a hostile command prints. Safe for
// concurrent use.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
	n   int
}

// NewTailBuffer returns a TailBuffer that keeps the last n bytes.
func NewTailBuffer(n int) *TailBuffer { return &TailBuffer{n: n} }

// Write keeps the tail of p; it never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
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

// String returns the bytes kept.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
