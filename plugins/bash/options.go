package bash

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hintfleet/hintfleet/plugins"
	"github.com/hintfleet/hintfleet/plugins/sandbox"
)

// Defaults. A block is a short script: 30 s of wall time, 1 GiB of address
// space, 64 KiB of each output stream kept.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMemoryBytes = 1 << 30
	DefaultOutputBytes = 64 << 10
	DefaultProcesses   = 64
	DefaultFileBytes   = 16 << 20
	DefaultOpenFiles   = 256
	DefaultTmpfsBytes  = 64 << 20
	DefaultCPUTime     = time.Minute
	DefaultSessionTTL  = time.Hour
	DefaultBash        = "/bin/bash"

	// MaxCodeBytes is the largest block Exec takes: the code travels as one
	// argument of bash -c, and the kernel caps one argument at 128 KiB.
	MaxCodeBytes = 96 << 10
)

// DefaultBinds are the host directories a block sees read-only besides
// what every sandbox binds (the shared libraries): the programs a shell
// script calls and the data files some of them read (awk, perl, file).
var DefaultBinds = []string{"/usr/bin", "/usr/share"}

// Option configures New. A bad value is an error from New.
type Option func(*config) error

type config struct {
	limits     plugins.Limits
	cpuTime    time.Duration
	bash       string
	binds      []string
	sandbox    []sandbox.Option
	logger     *slog.Logger
	sessionTTL time.Duration
}

func defaultConfig() config {
	var binds []string
	for _, d := range DefaultBinds {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			binds = append(binds, d)
		}
	}
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
		cpuTime:    DefaultCPUTime,
		bash:       DefaultBash,
		binds:      binds,
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		sessionTTL: DefaultSessionTTL,
	}
}

// WithLimits replaces the default limits field by field: a zero field keeps
// its default, a negative one is an error. Limits.Timeout is both the
// default and the maximum wall time of one block.
func WithLimits(l plugins.Limits) Option {
	return func(c *config) error {
		var err error
		c.limits, err = l.Over(c.limits)
		return err
	}
}

// WithCPUTime bounds the CPU time of each process of a block (RLIMIT_CPU).
func WithCPUTime(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("cpu time %v: want at least 1s", d)
		}
		c.cpuTime = d
		return nil
	}
}

// WithBash sets the shell binary (default /bin/bash).
func WithBash(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("bash %q: want an absolute path", path)
		}
		c.bash = path
		return nil
	}
}

// WithBinds replaces DefaultBinds: the host paths a block sees read-only.
// Never bind secrets: the code reads everything bound.
func WithBinds(paths ...string) Option {
	return func(c *config) error {
		c.binds = append([]string{}, paths...)
		return nil
	}
}

// WithSandboxOptions passes options to plugins/sandbox as they are
// (WithBwrap, WithInsecureNoSandbox, WithInsecureSandboxAsRoot, WithEnv).
// Limits and binds come from this package's options.
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
// is zero.
func WithSessionTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("session ttl %v: want > 0", d)
		}
		c.sessionTTL = d
		return nil
	}
}
