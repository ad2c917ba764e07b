package adaptive

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Config. KVTarget sits just under the point where vLLM
// preempts (the next block of a running sequence does not fit): every
// sequence the cache holds is one more in the batch, and a decode step
// costs a+b·batch, so an idle tenth of the cache is a tenth of the batch.
// KVHigh is the line only engines without a preemption counter need.
// SlowStartFactor is 3 rather than TCP's 2 because every step is also
// capped by the projected KV (fit), and a finite job pays for each interval
// spent below the knee.
const (
	DefaultInitial          = 8
	DefaultMin              = 1
	DefaultMax              = 512
	DefaultInterval         = time.Second
	DefaultKVTarget         = 0.97
	DefaultKVHigh           = 0.99
	DefaultWaitingTolerance = 1
	DefaultQueueFraction    = 0.03
	DefaultQueueHigh        = 2
	DefaultPreemptTolerance = 0.05
	DefaultKVHorizon        = 10
	DefaultCapacityWindow   = 32
	DefaultCapacityFloor    = 0.9
	DefaultSlowStartFactor  = 3
	DefaultSlowStartKV      = 0.5
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
	// KVTarget is the KV-cache usage the limit grows toward, projected
	// (see KVHorizon) and not only as read; KVHigh the usage above which it
	// decreases, for engines that do not count preemptions.
	KVTarget, KVHigh float64
	// WaitingTolerance plus QueueFraction × running is the engine queue
	// aimed for: the limit grows while the queue is shorter and decreases
	// once it is QueueHigh times longer. A short queue is wanted: it
	// refills the batch the moment a sequence ends or a session sends its
	// next request. A long one only adds latency.
	WaitingTolerance int
	QueueFraction    float64
	QueueHigh        float64
	// PreemptTolerance is the smoothed preemptions per interval, as a share
	// of the running batch, above which the limit decreases; growth needs
	// them under half of it. A few are the price of a full cache (the
	// newest sequence is recomputed, which is cheap); many mean it is
	// over-committed.
	PreemptTolerance float64
	// KVHorizon is how many intervals ahead the KV usage is projected from
	// its slope when deciding whether the limit may grow.
	KVHorizon float64
	// CapacityWindow is how many intervals the windowed estimates keep
	// (about a session's lifetime): the largest running batch and the mean
	// KV footprint per session. CapacityFloor is the share of that largest
	// batch below which queue, preemption and KV signals do not cut; 0
	// disables the floor.
	CapacityWindow int
	CapacityFloor  float64
	// SlowStartFactor multiplies the limit per interval in slow start,
	// which ends at the first decrease or once the KV usage reaches
	// SlowStartKV × KVTarget.
	SlowStartFactor float64
	SlowStartKV     float64
	// TTFTTolerance is how many times its baseline the TTFT p50 may reach
	// before the limit stops growing. Larger than 1 by a margin because the
	// decode step itself lengthens with the batch (a+b·batch).
	TTFTTolerance float64
	// ErrorRatio is the share of failed completions in an interval that
	// counts as congestion; any overload answer (503, 429) counts at once.
	ErrorRatio float64
	// MinBackoff and MaxBackoff clamp a decrease to between these shares
	// of the limit.
	MinBackoff, MaxBackoff float64
	// Cooldown is how many intervals after a decrease the limit neither
	// grows nor decreases again, save for overload and errors.
	Cooldown int
	// BaselineDrift is the fraction of the gap to the current TTFT p50 the
	// baseline closes per uncongested interval when the p50 is above it.
	BaselineDrift float64
	// Smoothing is the EWMA weight of the newest KV, queue and preemption
	// reading.
	Smoothing float64
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config {
	return Config{
		Initial: DefaultInitial, Min: DefaultMin, Max: DefaultMax, Interval: DefaultInterval,
		KVTarget: DefaultKVTarget, KVHigh: DefaultKVHigh,
		WaitingTolerance: DefaultWaitingTolerance, QueueFraction: DefaultQueueFraction, QueueHigh: DefaultQueueHigh,
		PreemptTolerance: DefaultPreemptTolerance, KVHorizon: DefaultKVHorizon,
		CapacityWindow: DefaultCapacityWindow, CapacityFloor: DefaultCapacityFloor,
		SlowStartFactor: DefaultSlowStartFactor, SlowStartKV: DefaultSlowStartKV,
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
	case !(c.QueueHigh >= 1):
		return fmt.Errorf("%w: queue high %v: want >= 1", ErrInvalidOption, c.QueueHigh)
	case !(c.PreemptTolerance >= 0):
		return fmt.Errorf("%w: preempt tolerance %v: want >= 0", ErrInvalidOption, c.PreemptTolerance)
	case !(c.KVHorizon >= 0):
		return fmt.Errorf("%w: kv horizon %v: want >= 0", ErrInvalidOption, c.KVHorizon)
	case c.CapacityWindow < 0 || !(c.CapacityFloor >= 0 && c.CapacityFloor <= 1):
		return fmt.Errorf("%w: capacity window %d, floor %v: want >= 0 and in [0, 1]", ErrInvalidOption, c.CapacityWindow, c.CapacityFloor)
	case !(c.SlowStartFactor > 1) || !(c.SlowStartKV >= 0 && c.SlowStartKV <= 1):
		return fmt.Errorf("%w: slow start factor %v, kv %v: want > 1 and in [0, 1]", ErrInvalidOption, c.SlowStartFactor, c.SlowStartKV)
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

// WithBounds sets Min and Max. Initial is not moved into them: New refuses
// an Initial outside [Min, Max] (pass WithInitial too when the bounds may
// exclude DefaultInitial), so a starting limit is never changed silently.
func WithBounds(lo, hi int) Option {
	return func(s *settings) error {
		s.cfg.Min, s.cfg.Max = lo, hi
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
