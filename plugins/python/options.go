package python

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
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
	sandbox      []sandbox.Option
	logger       *slog.Logger
	sessionTTL   time.Duration
	startTimeout time.Duration
	preload      []string
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
		limits, err := l.Over(c.limits)
		errs := []error{err}
		if l.OpenFiles > 0 && l.OpenFiles < 16 {
			errs = append(errs, fmt.Errorf("limit open_files: %d is below 16, too few for the interpreter itself", l.OpenFiles))
		}
		if l.MemoryBytes > 0 && l.MemoryBytes < 256<<20 {
			errs = append(errs, fmt.Errorf("limit memory_bytes: %d is below 256 MiB, too little for numpy and sympy", l.MemoryBytes))
		}
		c.limits = limits
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
// sandbox binds (/usr by default; see WithSandboxOptions and
// sandbox.WithReadOnlyBind).
func WithPython(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("python %q: want an absolute path", path)
		}
		c.python = path
		return nil
	}
}

// WithSandboxOptions passes options to plugins/sandbox as they are
// (sandbox.WithBwrap, WithInsecureNoSandbox, WithInsecureSandboxAsRoot,
// WithReadOnlyBind for an interpreter or packages outside /usr, WithEnv),
// after this package's own: limits, the interpreter's binds and its
// environment come from this package's options. Never bind secrets: the
// code reads everything bound.
func WithSandboxOptions(opts ...sandbox.Option) Option {
	return func(c *config) error {
		c.sandbox = append(c.sandbox, opts...)
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
