package adaptive

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config. KVHigh sits below 1 because vLLM preempts when the
// next block of any running sequence does not fit, which happens before the
// gauge reads 1; KVTarget leaves room for the sequences already admitted to
// grow.
const (
	DefaultInitial          = 8
	DefaultMin              = 1
	DefaultMax              = 512
	DefaultInterval         = time.Second
	DefaultKVTarget         = 0.80
	DefaultKVHigh           = 0.92
	DefaultWaitingTolerance = 1
	DefaultQueueFraction    = 0.05
	DefaultTTFTTolerance    = 2.5
	DefaultErrorRatio       = 0.10
	DefaultMinBackoff       = 0.5
	DefaultMaxBackoff       = 0.9
	DefaultCooldown         = 2
	DefaultBaselineDrift    = 0.05
	DefaultSmoothing        = 0.5
	// DefaultTraceLen bounds the trace kept for inspection.
	DefaultTraceLen = 4096
)

// Config tunes the controller. The zero value is not valid; DefaultConfig
// returns the defaults and options change them.
type Config struct {
	// Initial is the limit before the first signal; Min and Max bound it.
	Initial, Min, Max int
	// Interval is how often Run reads signals and adjusts the limit; a few
	// decode steps' worth of time at least, so the histogram delta holds
	// samples.
	Interval time.Duration
	// KVTarget is the KV-cache usage below which the limit may grow and
	// that a KV-triggered decrease aims for; KVHigh the usage above which it
	// decreases. Between the two it holds.
	KVTarget, KVHigh float64
	// WaitingTolerance plus QueueFraction × running is the engine queue
	// tolerated without a decrease; growth needs the queue under half of
	// it. A short queue is wanted: it refills the batch the moment a
	// sequence ends. A long one only adds latency.
	WaitingTolerance int
	QueueFraction    float64
	// TTFTTolerance is how many times its baseline TTFT p50 may reach
	// before it counts as congestion. Larger than 1 by a margin because the
	// decode step itself lengthens with the batch (a+b·batch).
	TTFTTolerance float64
	// ErrorRatio is the share of failed completions in an interval that
	// counts as congestion; any overload answer (503, 429) counts at once.
	ErrorRatio float64
	// MinBackoff and MaxBackoff clamp the multiplicative decrease factor.
	MinBackoff, MaxBackoff float64
	// Cooldown is how many intervals after a decrease no further
	// non-overload decrease is made.
	Cooldown int
	// BaselineDrift is the fraction of the gap to the current TTFT p50 the
	// baseline closes per uncongested interval when the p50 is above it.
	BaselineDrift float64
	// Smoothing is the EWMA weight of the newest KV and queue reading.
	Smoothing float64
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config {
	return Config{
		Initial: DefaultInitial, Min: DefaultMin, Max: DefaultMax, Interval: DefaultInterval,
		KVTarget: DefaultKVTarget, KVHigh: DefaultKVHigh, WaitingTolerance: DefaultWaitingTolerance,
		QueueFraction: DefaultQueueFraction,
		TTFTTolerance: DefaultTTFTTolerance, ErrorRatio: DefaultErrorRatio,
		MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff, Cooldown: DefaultCooldown,
		BaselineDrift: DefaultBaselineDrift, Smoothing: DefaultSmoothing,
	}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Min < 1 || c.Max < c.Min:
		return fmt.Errorf("%w: bounds [%d, %d]: want 1 <= min <= max", ErrInvalidOption, c.Min, c.Max)
	case c.Initial < c.Min || c.Initial > c.Max:
		return fmt.Errorf("%w: initial %d outside [%d, %d]", ErrInvalidOption, c.Initial, c.Min, c.Max)
	case c.Interval <= 0:
		return fmt.Errorf("%w: interval %v: want > 0", ErrInvalidOption, c.Interval)
	case !(c.KVTarget > 0 && c.KVTarget <= c.KVHigh && c.KVHigh <= 1):
		return fmt.Errorf("%w: kv target %v, high %v: want 0 < target <= high <= 1", ErrInvalidOption, c.KVTarget, c.KVHigh)
	case c.WaitingTolerance < 0 || !(c.QueueFraction >= 0 && c.QueueFraction <= 1):
		return fmt.Errorf("%w: waiting tolerance %d, queue fraction %v: want >= 0 and in [0, 1]", ErrInvalidOption, c.WaitingTolerance, c.QueueFraction)
	case !(c.TTFTTolerance >= 1):
		return fmt.Errorf("%w: ttft tolerance %v: want >= 1", ErrInvalidOption, c.TTFTTolerance)
	case !(c.ErrorRatio > 0 && c.ErrorRatio <= 1):
		return fmt.Errorf("%w: error ratio %v: want in (0, 1]", ErrInvalidOption, c.ErrorRatio)
	case !(c.MinBackoff > 0 && c.MinBackoff <= c.MaxBackoff && c.MaxBackoff < 1):
		return fmt.Errorf("%w: backoff [%v, %v]: want 0 < min <= max < 1", ErrInvalidOption, c.MinBackoff, c.MaxBackoff)
	case c.Cooldown < 0:
		return fmt.Errorf("%w: cooldown %d: want >= 0", ErrInvalidOption, c.Cooldown)
	case !(c.BaselineDrift >= 0 && c.BaselineDrift <= 1):
		return fmt.Errorf("%w: baseline drift %v: want in [0, 1]", ErrInvalidOption, c.BaselineDrift)
	case !(c.Smoothing > 0 && c.Smoothing <= 1):
		return fmt.Errorf("%w: smoothing %v: want in (0, 1]", ErrInvalidOption, c.Smoothing)
	}
	return nil
}

// Option changes the Limiter New builds.
type Option func(*settings) error

type settings struct {
	cfg      Config
	clock    Clock
	logger   *slog.Logger
	traceLen int
}

// WithConfig replaces the whole Config; later options still apply.
func WithConfig(c Config) Option {
	return func(s *settings) error { s.cfg = c; return nil }
}

// WithBounds sets Min and Max, and clamps Initial into them.
func WithBounds(lo, hi int) Option {
	return func(s *settings) error {
		s.cfg.Min, s.cfg.Max = lo, hi
		s.cfg.Initial = max(lo, min(hi, s.cfg.Initial))
		return nil
	}
}

// WithInitial sets the starting limit.
func WithInitial(n int) Option {
	return func(s *settings) error { s.cfg.Initial = n; return nil }
}

// WithInterval sets the controller interval.
func WithInterval(d time.Duration) Option {
	return func(s *settings) error { s.cfg.Interval = d; return nil }
}

// WithClock replaces the wall clock, so tests drive Run tick by tick.
func WithClock(c Clock) Option {
	return func(s *settings) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		s.clock = c
		return nil
	}
}

// WithLogger sets where signal errors and limit changes are logged
// (debug level); by default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		s.logger = l
		return nil
	}
}

// WithTraceLen bounds how many decisions Trace keeps (default
// DefaultTraceLen); 0 keeps none.
func WithTraceLen(n int) Option {
	return func(s *settings) error {
		if n < 0 {
			return fmt.Errorf("%w: trace length %d: want >= 0", ErrInvalidOption, n)
		}
		s.traceLen = n
		return nil
	}
}
