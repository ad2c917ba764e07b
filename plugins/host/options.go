package host

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the options below.
const (
	DefaultHealthInterval = 2 * time.Second
	DefaultBackoffInitial = 250 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultCallTimeout    = 30 * time.Second
	DefaultStartTimeout   = 30 * time.Second
	// callGrace is how long past a call's own timeout the host waits for the
	// plugin's answer, so the plugin, not the RPC deadline, reports a timeout.
	callGrace = 2 * time.Second
	// stopGrace bounds a graceful shutdown before the group is SIGKILLed.
	stopGrace = 3 * time.Second
)

// Option tunes New. A bad value is an error from New.
type Option func(*options) error

type options struct {
	logger         *slog.Logger
	skipChecksum   bool
	keepGoing      bool
	healthInterval time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	callTimeout    time.Duration
	startTimeout   time.Duration
}

func defaultOptions() options {
	return options{
		logger:         slog.New(slog.DiscardHandler),
		healthInterval: DefaultHealthInterval,
		backoffInitial: DefaultBackoffInitial,
		backoffMax:     DefaultBackoffMax,
		callTimeout:    DefaultCallTimeout,
		startTimeout:   DefaultStartTimeout,
	}
}

// WithLogger sets the logger for the manager and for what plugins log.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		o.logger = l
		return nil
	}
}

// InsecureSkipChecksum runs plugins whatever their SHA-256, for development
// against binaries rebuilt all day. Each plugin so started is logged as a
// warning and listed as ChecksumSkipped. Never in production: the checksum
// is what stops a replaced binary from running model code as the host user.
func InsecureSkipChecksum() Option {
	return func(o *options) error {
		o.skipChecksum = true
		return nil
	}
}

// KeepGoing makes New start what it can instead of failing on the first
// plugin that does not start; the failed ones are listed by List with their
// error and route no language. For inspection (`hintfleet plugins list`); a
// worker should fail fast instead. (A plugin refused for its checksum never
// fails New: it is refused alone, with or without KeepGoing.)
func KeepGoing() Option {
	return func(o *options) error {
		o.keepGoing = true
		return nil
	}
}

// WithHealthInterval sets how often each plugin is health-checked.
func WithHealthInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("health interval %v: want > 0", d)
		}
		o.healthInterval = d
		return nil
	}
}

// WithBackoff sets the first restart delay and its cap; each failed restart
// doubles the delay. A plugin that stays up longer than max starts over at
// initial.
func WithBackoff(initial, max time.Duration) Option {
	return func(o *options) error {
		if initial <= 0 || max < initial {
			return fmt.Errorf("backoff %v..%v: want 0 < initial <= max", initial, max)
		}
		o.backoffInitial, o.backoffMax = initial, max
		return nil
	}
}

// WithCallTimeout sets the Exec timeout used when neither the request nor
// the tool's described limits give one.
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("call timeout %v: want > 0", d)
		}
		o.callTimeout = d
		return nil
	}
}

// WithStartTimeout bounds a plugin's start: handshake and Describe.
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("start timeout %v: want > 0", d)
		}
		o.startTimeout = d
		return nil
	}
}
