package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults for Limits. Memory is address space (RLIMIT_AS), which counts
// mappings rather than pages in use; 1 GiB leaves an interpreter with
// numpy loaded most of it.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultCPUTime      = 10 * time.Minute
	DefaultMemoryBytes  = 1 << 30
	DefaultProcesses    = 64 // threads count too (RLIMIT_NPROC)
	DefaultFileBytes    = 16 << 20
	DefaultOpenFiles    = 256
	DefaultTmpfsBytes   = 64 << 20
	DefaultStartTimeout = 30 * time.Second

	// NobodyID is the uid and gid commands run as inside the sandbox, and
	// the host uid bwrap itself is started as when the host runs as root.
	NobodyID = 65534
)

// Limits bound one command and everything it starts. A zero field takes its
// default; a negative one is an error from New.
type Limits struct {
	// Timeout is the wall-clock limit of a command, counted from Start; the
	// whole sandbox is killed when it passes. Cmd.Timeout overrides it per
	// command (zero there: no limit but the ctx).
	Timeout time.Duration
	// CPUTime is RLIMIT_CPU of each process: SIGXCPU at the limit, SIGKILL
	// one second later.
	CPUTime time.Duration
	// MemoryBytes is RLIMIT_AS of each process.
	MemoryBytes int64
	// Processes is RLIMIT_NPROC: processes and threads of the sandbox's
	// user, counted per sandbox (each has its own user namespace).
	Processes int64
	// FileBytes is RLIMIT_FSIZE: the largest file a process may write.
	FileBytes int64
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles int64
	// TmpfsBytes caps the sandbox's /tmp, its only writable directory.
	TmpfsBytes int64
}

// DefaultLimits returns the limits a Sandbox gets without WithLimits.
func DefaultLimits() Limits {
	return Limits{
		Timeout:     DefaultTimeout,
		CPUTime:     DefaultCPUTime,
		MemoryBytes: DefaultMemoryBytes,
		Processes:   DefaultProcesses,
		FileBytes:   DefaultFileBytes,
		OpenFiles:   DefaultOpenFiles,
		TmpfsBytes:  DefaultTmpfsBytes,
	}
}

// Option configures New. A bad value is an error from New.
type Option func(*config) error

type config struct {
	limits       Limits
	bwrap        string
	insecure     bool
	asRoot       bool
	binds        []string
	bindFinders  []func(context.Context) ([]string, error)
	env          []string
	logger       *slog.Logger
	startTimeout time.Duration
}

func defaultConfig() config {
	return config{
		limits:       DefaultLimits(),
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		startTimeout: DefaultStartTimeout,
	}
}

// WithLimits replaces the default limits field by field: a zero field keeps
// its default.
func WithLimits(l Limits) Option {
	return func(c *config) error {
		var errs []error
		durs := []struct {
			name string
			v    time.Duration
			dst  *time.Duration
		}{
			{"timeout", l.Timeout, &c.limits.Timeout},
			{"cpu_time", l.CPUTime, &c.limits.CPUTime},
		}
		for _, d := range durs {
			switch {
			case d.v < 0:
				errs = append(errs, fmt.Errorf("limit %s: %v is negative", d.name, d.v))
			case d.v > 0:
				*d.dst = d.v
			}
		}
		if l.CPUTime > 0 && l.CPUTime < time.Second {
			errs = append(errs, fmt.Errorf("limit cpu_time: %v is below the 1s resolution of RLIMIT_CPU", l.CPUTime))
		}
		ints := []struct {
			name string
			v    int64
			dst  *int64
		}{
			{"memory_bytes", l.MemoryBytes, &c.limits.MemoryBytes},
			{"processes", l.Processes, &c.limits.Processes},
			{"file_bytes", l.FileBytes, &c.limits.FileBytes},
			{"open_files", l.OpenFiles, &c.limits.OpenFiles},
			{"tmpfs_bytes", l.TmpfsBytes, &c.limits.TmpfsBytes},
		}
		for _, f := range ints {
			switch {
			case f.v < 0:
				errs = append(errs, fmt.Errorf("limit %s: %d is negative", f.name, f.v))
			case f.v > 0:
				*f.dst = f.v
			}
		}
		if l.OpenFiles > 0 && l.OpenFiles < 16 {
			errs = append(errs, fmt.Errorf("limit open_files: %d is below 16, too few to start a program", l.OpenFiles))
		}
		return errors.Join(errs...)
	}
}

// WithReadOnlyBind makes host paths (directories or files) visible
// read-only at the same path inside the sandbox. By default only the
// shared libraries (/usr/lib and friends), a few files of /etc (the
// linker's cache, alternatives, the time zone) and each command's own
// binary are there. Never bind secrets: the code reads everything bound.
func WithReadOnlyBind(paths ...string) Option {
	return func(c *config) error {
		for _, p := range paths {
			p, err := bindPath(p)
			if err != nil {
				return err
			}
			c.binds = append(c.binds, p)
		}
		return nil
	}
}

// WithReadOnlyBindsFrom adds the read-only binds find returns, for paths
// that cost something to find (an interpreter's library directories,
// asked of the interpreter). New calls find once, and only when it sets
// up bubblewrap: an insecure sandbox binds nothing, so it never asks. An
// error from find, or a path that is not absolute or does not exist, is
// an error from New.
func WithReadOnlyBindsFrom(find func(context.Context) ([]string, error)) Option {
	return func(c *config) error {
		if find == nil {
			return errors.New("read-only binds from: nil func")
		}
		c.bindFinders = append(c.bindFinders, find)
		return nil
	}
}

// bindPath checks that p can be bound: absolute and there.
func bindPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("read-only bind %q: want an absolute path", p)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("read-only bind: %w", err)
	}
	return filepath.Clean(p), nil
}

// WithEnv adds KEY=VALUE pairs to the environment every command sees. The
// host's environment never reaches the sandbox; the base is HOME and TMPDIR
// (/tmp), PATH and LANG (C.UTF-8).
func WithEnv(kv ...string) Option {
	return func(c *config) error {
		for _, e := range kv {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				return fmt.Errorf("env %q: want KEY=VALUE", e)
			}
		}
		c.env = append(c.env, kv...)
		return nil
	}
}

// WithBwrap sets the bubblewrap binary; by default it is looked up in PATH.
func WithBwrap(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("bwrap %q: want an absolute path", path)
		}
		c.bwrap = path
		return nil
	}
}

// WithInsecureNoSandbox runs commands without bubblewrap: a private working
// directory, a process group and the rlimits (applied just after the start,
// so the first instructions run unlimited), no namespaces, so commands can
// read the host's files and reach the network. For development machines
// without bubblewrap; New logs a warning.
func WithInsecureNoSandbox() Option {
	return func(c *config) error {
		c.insecure = true
		return nil
	}
}

// WithInsecureSandboxAsRoot lets New start bubblewrap as host root when it
// cannot start it as uid NobodyID (the host lacks unprivileged user
// namespaces). The sandbox keeps its namespaces, mounts and seccomp filter,
// but the kernel never applies RLIMIT_NPROC to host root: a fork bomb is
// bounded only by the timeout, and an escape lands as root. Without this
// option New refuses and says why. It matters only when the caller runs as
// root.
func WithInsecureSandboxAsRoot() Option {
	return func(c *config) error {
		c.asRoot = true
		return nil
	}
}

// WithLogger sets the logger (warnings about insecure modes); the default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger: nil")
		}
		c.logger = l
		return nil
	}
}

// WithStartTimeout bounds how long Start waits for bubblewrap to set the
// sandbox up (it reports the sandbox's pid once namespaces and mounts are
// in place).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("start timeout %v: want > 0", d)
		}
		c.startTimeout = d
		return nil
	}
}
