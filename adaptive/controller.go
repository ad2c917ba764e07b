package adaptive

import (
	"math"
	"time"
)

// Signals is one reading of the engine's state, taken by a SignalSource.
// Unknown values: KVUsage and GPUUtil < 0, TTFT 0 (no request started in the
// interval).
type Signals struct {
	// Waiting and Running are the engine's queued and batched sequences,
	// everyone's, not only ours.
	Waiting, Running int
	// KVUsage is the engine's KV-cache usage, 0..1.
	KVUsage float64
	// TTFTp50 and TTFTp90 are quantiles of the time to first token of the
	// requests that got it since the previous reading.
	TTFTp50, TTFTp90 time.Duration
	// GPUUtil is the GPU's utilization, 0..1; see the package doc for why
	// it is recorded but not acted on.
	GPUUtil float64
}

// Unknown returns Signals with every value unknown.
func Unknown() Signals { return Signals{KVUsage: -1, GPUUtil: -1} }

// Window is what the Limiter saw of its own sessions in one interval.
type Window struct {
	Completed, Errors int
	// Overloaded counts outcomes the engine refused for load (503, 429).
	Overloaded int
	Tokens     int
	// PeakInFlight is the most sessions held at once during the interval;
	// a limit that was never reached must not grow (app-limited).
	PeakInFlight int
	// InFlight is the sessions held at the end of the interval. Above the
	// limit it means an earlier decrease is still draining.
	InFlight int
}

// Reason says why the controller moved (or kept) the limit.
type Reason string

// Reasons, stable strings for logs and traces.
const (
	ReasonHold      Reason = "hold"
	ReasonSlowStart Reason = "slow-start"
	ReasonIncrease  Reason = "increase"
	ReasonIdle      Reason = "app-limited"
	ReasonCooldown  Reason = "cooldown"
	ReasonDraining  Reason = "draining"
	ReasonOverload  Reason = "overload"
	ReasonErrors    Reason = "errors"
	ReasonQueue     Reason = "queue"
	ReasonKV        Reason = "kv"
	ReasonTTFT      Reason = "ttft"
	ReasonNoSignals Reason = "no-signals"
)

// Decreased reports whether r is a congestion decision.
func (r Reason) Decreased() bool {
	switch r {
	case ReasonOverload, ReasonErrors, ReasonQueue, ReasonKV, ReasonTTFT:
		return true
	}
	return false
}

// controller is the pure AIMD rule of the package doc: no clock, no I/O, no
// locks. The Limiter owns one and calls update once per interval.
type controller struct {
	cfg       Config
	limit     int
	slowStart bool
	cooldown  int
	// Smoothed readings; negative until the first known value.
	kv, waiting float64
	// baseline is the TTFT floor, 0 until the first reading.
	baseline time.Duration
}

func newController(cfg Config) *controller {
	return &controller{cfg: cfg, limit: cfg.Initial, slowStart: true, kv: -1, waiting: -1}
}

// update applies one interval's signals and window and returns the new limit
// and why. ok is false when the reading failed: the limit holds, since
// growing blind risks the KV cache and cutting blind punishes a metrics
// hiccup.
func (c *controller) update(s Signals, w Window, ok bool) (int, Reason) {
	if !ok {
		return c.limit, ReasonNoSignals
	}
	a := c.cfg.Smoothing
	if s.KVUsage >= 0 {
		c.kv = ewma(c.kv, s.KVUsage, a)
	}
	c.waiting = ewma(c.waiting, float64(s.Waiting), a)
	reason := c.decide(s, w)
	c.learnBaseline(s)
	return c.limit, reason
}

func ewma(old, v, a float64) float64 {
	if old < 0 {
		return v
	}
	return a*v + (1-a)*old
}

func (c *controller) decide(s Signals, w Window) Reason {
	cfg := c.cfg
	// Overload and errors first: they cut even during cooldown, because
	// they mean requests are failing, not merely slower.
	if w.Overloaded > 0 {
		return c.decrease(cfg.MinBackoff, ReasonOverload)
	}
	if done := w.Completed + w.Errors; w.Errors > 0 && float64(w.Errors) >= cfg.ErrorRatio*float64(done) {
		return c.decrease(cfg.MaxBackoff, ReasonErrors)
	}
	g, why := c.gradient(s)
	if why != "" && w.InFlight > c.limit {
		// The last cut has not taken effect: sessions admitted before it
		// still run, and the congestion is theirs. Cutting again now would
		// count the same congestion twice.
		return ReasonDraining
	}
	if c.cooldown > 0 {
		c.cooldown--
		if why != "" {
			return ReasonCooldown
		}
	}
	if why != "" {
		return c.decrease(g, why)
	}
	if !c.headroom(s) {
		return ReasonHold
	}
	if w.PeakInFlight < c.limit {
		return ReasonIdle
	}
	// Slow start ends once the KV cache is half way to its target: the
	// footprint of sessions admitted in the last intervals has not shown
	// yet (they grow for their whole lifetime), so doubling from there
	// overshoots by the time it does.
	if c.slowStart && c.kv >= cfg.KVTarget/2 {
		c.slowStart = false
	}
	next, reason := c.limit+max(1, int(math.Sqrt(float64(c.limit)))), ReasonIncrease
	if c.slowStart {
		next, reason = 2*c.limit, ReasonSlowStart
	}
	// Do not step past the KV the current per-sequence footprint predicts:
	// sequences admitted now only grow.
	if c.kv > 0 && s.Running > 0 {
		perSeq := c.kv / float64(s.Running)
		if fit := int(cfg.KVHigh / perSeq); fit < next {
			next = max(c.limit, fit)
		}
	}
	next = min(next, cfg.Max)
	if next == c.limit {
		return ReasonHold
	}
	c.limit = next
	return reason
}

// gradient returns the decrease factor the congestion signals ask for (<1)
// and the dominant signal, or "" when none is over its line.
func (c *controller) gradient(s Signals) (float64, Reason) {
	cfg := c.cfg
	g, why := 1.0, Reason("")
	if c.waiting > c.queueLine(s) {
		run := float64(max(s.Running, 1))
		if f := run / (run + c.waiting); f < g {
			g, why = f, ReasonQueue
		}
		if why == "" { // a queue is congestion however small the ratio
			why = ReasonQueue
		}
	}
	if c.kv > cfg.KVHigh {
		if f := cfg.KVTarget / c.kv; f < g || why == "" {
			g, why = min(g, f), ReasonKV
		}
	}
	if c.baseline > 0 && s.TTFTp50 > 0 {
		line := cfg.TTFTTolerance * float64(c.baseline)
		if float64(s.TTFTp50) > line {
			if f := line / float64(s.TTFTp50); f < g || why == "" {
				g, why = min(g, f), ReasonTTFT
			}
		}
	}
	return g, why
}

// queueLine is the engine queue tolerated before a decrease: a few waiting
// sequences keep the batch full as others finish (Vegas keeps a small
// queue at the bottleneck for the same reason); growth needs the queue
// under half of it.
func (c *controller) queueLine(s Signals) float64 {
	return float64(c.cfg.WaitingTolerance) + c.cfg.QueueFraction*float64(s.Running)
}

// headroom: the engine runs everything it has, the KV cache has room for
// the sequences to grow, and TTFT is near its floor.
func (c *controller) headroom(s Signals) bool {
	cfg := c.cfg
	if c.waiting > c.queueLine(s)/2 {
		return false
	}
	if c.kv >= cfg.KVTarget {
		return false
	}
	if c.baseline > 0 && s.TTFTp50 > 0 && float64(s.TTFTp50) > (1+cfg.TTFTTolerance)/2*float64(c.baseline) {
		return false
	}
	return true
}

func (c *controller) decrease(factor float64, why Reason) Reason {
	factor = max(c.cfg.MinBackoff, min(c.cfg.MaxBackoff, factor))
	c.limit = max(c.cfg.Min, int(math.Floor(float64(c.limit)*factor)))
	c.slowStart = false
	c.cooldown = c.cfg.Cooldown
	return why
}

// learnBaseline keeps the TTFT floor: the lowest p50 seen, drifting up
// toward the current p50 while the engine is not queueing, so a lasting
// slowdown becomes the new floor.
func (c *controller) learnBaseline(s Signals) {
	if s.TTFTp50 <= 0 {
		return
	}
	switch {
	case c.baseline == 0 || s.TTFTp50 < c.baseline:
		c.baseline = s.TTFTp50
	case c.waiting <= c.queueLine(s):
		c.baseline += time.Duration(c.cfg.BaselineDrift * float64(s.TTFTp50-c.baseline))
	}
}
