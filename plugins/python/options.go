package python

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
)

// Defaults. Memory is address space (RLIMIT_AS): a warm interpreter with
// numpy and sympy maps about 90 MiB, so 1 GiB leaves the code ~900 MiB.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMemoryBytes  = 1 << 30
	DefaultOutputBytes  = 64 << 10
	DefaultProcesses    = 32 // threads count too (RLIMIT_NPROC)
	DefaultFileBytes    = 16 << 20
	DefaultOpenFiles    = 256
	DefaultTmpfsBytes   = 64 << 20
	DefaultCPUTime      = 10 * time.Minute // per session, imports included
	DefaultPoolSize     = 4
	DefaultSessionTTL   = time.Hour
	DefaultStartTimeout = 2 * time.Minute
	DefaultPython       = "/usr/bin/python3"
)

// defaultPreload is what every warm interpreter imports before its session.
var defaultPreload = []string{"numpy", "sympy"}

// Option configures New. A bad value is an error from New.
type Option func(*config) error

type config struct {
	limits       plugins.Limits
	cpuTime      time.Duration
	poolSize     int
	python       string
	bwrap        string
	insecure     bool
	asRoot       bool
	logger       *slog.Logger
	sessionTTL   time.Duration
	startTimeout time.Duration
	preload      []string
	roBinds      []string
}

func defaultConfig() config {
	return config{
		limits: plugins.Limits{
			Timeout:     DefaultTimeout,
			MemoryBytes: DefaultMemoryBytes,
			OutputBytes: DefaultOutputBytes,
			Processes:   DefaultProcesses,
			FileBytes:   DefaultFileBytes,
			OpenFiles:   DefaultOpenFiles,
			TmpfsBytes:  DefaultTmpfsBytes,
		},
		cpuTime:      DefaultCPUTime,
		poolSize:     DefaultPoolSize,
		python:       DefaultPython,
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		sessionTTL:   DefaultSessionTTL,
		startTimeout: DefaultStartTimeout,
		preload:      defaultPreload,
	}
}

// WithLimits replaces the default limits. A zero field keeps its default;
// a negative one is an error. Limits.Timeout is both the default and the
// maximum per-call wall time.
func WithLimits(l plugins.Limits) Option {
	return func(c *config) error {
		fields := []struct {
			name string
			v    int64
			dst  *int64
		}{
			{"memory_bytes", l.MemoryBytes, &c.limits.MemoryBytes},
			{"output_bytes", l.OutputBytes, &c.limits.OutputBytes},
			{"processes", l.Processes, &c.limits.Processes},
			{"file_bytes", l.FileBytes, &c.limits.FileBytes},
			{"open_files", l.OpenFiles, &c.limits.OpenFiles},
			{"tmpfs_bytes", l.TmpfsBytes, &c.limits.TmpfsBytes},
		}
		var errs []error
		if l.Timeout < 0 {
			errs = append(errs, fmt.Errorf("limit timeout: %v is negative", l.Timeout))
		} else if l.Timeout > 0 {
			c.limits.Timeout = l.Timeout
		}
		for _, f := range fields {
			switch {
			case f.v < 0:
				errs = append(errs, fmt.Errorf("limit %s: %d is negative", f.name, f.v))
			case f.v > 0:
				*f.dst = f.v
			}
		}
		if l.OpenFiles > 0 && l.OpenFiles < 16 {
			errs = append(errs, fmt.Errorf("limit open_files: %d is below 16, too few for the interpreter itself", l.OpenFiles))
		}
		if l.MemoryBytes > 0 && l.MemoryBytes < 256<<20 {
			errs = append(errs, fmt.Errorf("limit memory_bytes: %d is below 256 MiB, too little for numpy and sympy", l.MemoryBytes))
		}
		return errors.Join(errs...)
	}
}

// WithCPUTime bounds the CPU time of a whole session (RLIMIT_CPU, imports
// included); the per-call bound is the wall-clock timeout.
func WithCPUTime(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("cpu time %v: want at least 1s", d)
		}
		c.cpuTime = d
		return nil
	}
}

// WithPoolSize sets how many warm interpreters wait for sessions. Zero
// disables the pool: every Open starts an interpreter (about a second with
// numpy and sympy).
func WithPoolSize(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 1024 {
			return fmt.Errorf("pool size %d: want 0..1024", n)
		}
		c.poolSize = n
		return nil
	}
}

// WithPython sets the interpreter. It must live under a directory the
// sandbox binds (/usr by default; see WithReadOnlyBind).
func WithPython(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("python %q: want an absolute path", path)
		}
		c.python = path
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

// WithInsecureNoSandbox runs interpreters without bubblewrap: rlimits and a
// private working directory only, no namespaces, so code can read the
// host's files and reach the network. For development machines without
// bubblewrap; New logs a warning.
func WithInsecureNoSandbox() Option {
	return func(c *config) error {
		c.insecure = true
		return nil
	}
}

// WithInsecureSandboxAsRoot lets New start bubblewrap as host root when it
// cannot start it as an unprivileged user (no unprivileged user namespaces
// on the host). The sandbox then still has its namespaces, mounts and
// seccomp filter, but the kernel never applies RLIMIT_NPROC to host root:
// a fork bomb is bounded only by the timeout, and any escape lands as root.
// Without this option New refuses and says why. Only has an effect when
// the plugin itself runs as root.
func WithInsecureSandboxAsRoot() Option {
	return func(c *config) error {
		c.asRoot = true
		return nil
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger: nil")
		}
		c.logger = l
		return nil
	}
}

// WithSessionTTL sets how long a session may stay open when OpenRequest.TTL
// is zero. A session past its TTL is closed and its interpreter killed, so a
// host that forgets to Close leaks nothing for long.
func WithSessionTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("session ttl %v: want > 0", d)
		}
		c.sessionTTL = d
		return nil
	}
}

// WithStartTimeout bounds how long starting one interpreter (and an Open
// waiting for the pool) may take.
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("start timeout %v: want > 0", d)
		}
		c.startTimeout = d
		return nil
	}
}

// WithPreload replaces the modules every interpreter imports before its
// session (numpy and sympy by default).
func WithPreload(modules ...string) Option {
	return func(c *config) error {
		c.preload = append([]string{}, modules...)
		return nil
	}
}

// WithReadOnlyBind adds host directories the sandbox sees read-only at the
// same path, for an interpreter or packages outside /usr. Never bind
// secrets: the code can read everything bound.
func WithReadOnlyBind(paths ...string) Option {
	return func(c *config) error {
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("read-only bind %q: want an absolute path", p)
			}
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("read-only bind: %w", err)
			}
			c.roBinds = append(c.roBinds, filepath.Clean(p))
		}
		return nil
	}
}
