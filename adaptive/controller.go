package adaptive

import (
	"math"
	"time"
)

// Signals is one reading of the engine's state, taken by a SignalSource.
// Unknown values (an engine that does not report the signal, or a failed
// reading): Waiting, Running, Preemptions, KVUsage and GPUUtil < 0, TTFT 0
// (no request started in the interval). The controller never reads an
// unknown value as idle: it decides on the signals it has, and holds the
// limit when it has none about load at all.
type Signals struct {
	// Waiting and Running are the engine's queued and batched sequences,
	// everyone's, not only ours.
	Waiting, Running int
	// KVUsage is the engine's KV-cache usage, 0..1.
	KVUsage float64
	// Preemptions is how many sequences the engine preempted (evicted to
	// recompute later) since the previous reading; < 0 when it does not say.
	Preemptions int
	// TTFTp50 and TTFTp90 are quantiles of the time to first token of the
	// requests that got it since the previous reading.
	TTFTp50, TTFTp90 time.Duration
	// GPUUtil is the GPU's utilization, 0..1; see the package doc for why
	// it is recorded but not acted on.
	GPUUtil float64
}

// Unknown returns Signals with every value unknown.
func Unknown() Signals {
	return Signals{Waiting: -1, Running: -1, Preemptions: -1, KVUsage: -1, GPUUtil: -1}
}

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
	ReasonPreempt   Reason = "preempt"
	ReasonTTFT      Reason = "ttft"
	ReasonNoSignals Reason = "no-signals"
)

// Decreased reports whether r is a congestion decision.
func (r Reason) Decreased() bool {
	switch r {
	case ReasonOverload, ReasonErrors, ReasonQueue, ReasonKV, ReasonPreempt, ReasonTTFT:
		return true
	}
	return false
}

// controller is the pure rule of the package doc: no clock, no I/O, no
// locks. The Limiter owns one and calls update once per interval.
type controller struct {
	cfg       Config
	limit     int
	slowStart bool
	cooldown  int
	// Smoothed readings; negative until the first known value. preempt is
	// preemptions per interval.
	kv, waiting, preempt float64
	// kvSlope is the smoothed change of KV usage per interval, rawKV the
	// reading it was last taken from; sloped says kvSlope holds a change.
	kvSlope, rawKV float64
	sloped         bool
	// baseline is the TTFT floor, 0 until the first reading.
	baseline time.Duration
	// hist holds the last CapacityWindow readings, oldest at next once
	// full; see capacity and footprint.
	hist []reading
	next int
}

// reading is what the windowed estimates keep of one interval.
type reading struct {
	// running is the part of the engine's batch that can be ours:
	// min(running, sessions we held).
	running int
	// perSession is the KV usage per session we held, 0 when unknown.
	perSession float64
}

func newController(cfg Config) *controller {
	return &controller{cfg: cfg, limit: cfg.Initial, slowStart: true, kv: -1, waiting: -1, preempt: -1}
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
		switch d := s.KVUsage - c.rawKV; {
		case c.kv < 0:
		case !c.sloped:
			// The first change is the slope: smoothing it against an
			// unknown 0 would halve it just when slow start needs it.
			c.kvSlope, c.sloped = d, true
		default:
			c.kvSlope = a*d + (1-a)*c.kvSlope
		}
		c.kv = ewma(c.kv, s.KVUsage, a)
		c.rawKV = s.KVUsage
	}
	if s.Waiting >= 0 {
		c.waiting = ewma(c.waiting, float64(s.Waiting), a)
	}
	if s.Preemptions >= 0 {
		c.preempt = ewma(c.preempt, float64(s.Preemptions), a)
	}
	c.observe(s, w)
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
	lim := float64(c.limit)
	// Overload and errors first: they cut even during cooldown, because
	// they mean requests are failing, not merely slower.
	if w.Overloaded > 0 {
		return c.decrease(lim*cfg.MinBackoff, ReasonOverload)
	}
	if done := w.Completed + w.Errors; w.Errors > 0 && float64(w.Errors) >= cfg.ErrorRatio*float64(done) {
		return c.decrease(lim*cfg.MaxBackoff, ReasonErrors)
	}
	if c.waiting < 0 && c.kv < 0 && c.preempt < 0 {
		// Nothing about the engine's load is known: an engine that does
		// not report a signal is not idle. Hold rather than grow blind.
		return ReasonNoSignals
	}
	cooling := c.cooldown > 0
	if cooling {
		c.cooldown--
	}
	if target, why := c.congestion(s, w); why != "" {
		// The queue and preemptions come and go with the mix of sequence
		// lengths, not only with our limit: a wave of sessions admitted
		// together fills the cache as they grow, then finishes and leaves
		// room for more young ones than before. Below the batch the engine
		// ran in the last window, a cut would leave it idle once the wave
		// has passed.
		target = max(target, cfg.CapacityFloor*float64(c.capacity()))
		switch {
		case target >= lim:
			// Sessions admitted before the limit came down to where it
			// is cause the congestion; they drain as they finish. The
			// limit comes back up to the floor if the engine has run
			// more of ours since: a limit cut while the cache held the
			// longest sequences of a wave would otherwise stay there,
			// since the queue of our own sessions stops all growth.
			c.limit = min(cfg.Max, max(c.limit, int(cfg.CapacityFloor*float64(c.capacity()))))
			return ReasonDraining
		case cooling:
			return ReasonCooldown
		}
		return c.decrease(target, why)
	}
	if cooling {
		return ReasonCooldown
	}
	if !c.headroom(s) {
		return ReasonHold
	}
	if w.PeakInFlight < c.limit {
		return ReasonIdle
	}
	// Slow start ends once the KV cache is SlowStartKV of the way to its
	// target: the footprint of sessions admitted in the last intervals has
	// not shown yet (they grow for their whole lifetime), so multiplying
	// from there overshoots by the time it does.
	if c.slowStart && c.kv >= cfg.KVTarget*cfg.SlowStartKV {
		c.slowStart = false
	}
	grow, reason := c.limit+max(1, int(math.Sqrt(lim))), ReasonIncrease
	if c.slowStart {
		grow, reason = max(c.limit+1, int(cfg.SlowStartFactor*lim)), ReasonSlowStart
	}
	if fit := c.fit(); float64(grow) > fit {
		grow = max(c.limit, int(fit))
	}
	grow = min(grow, cfg.Max)
	if grow == c.limit {
		return ReasonHold
	}
	c.limit = grow
	return reason
}

// queueTarget is the engine queue the controller aims for: a few waiting
// sequences refill the batch the moment one ends or a session sends its
// next request (Vegas keeps a small queue at the bottleneck for the same
// reason); with none, the batch runs a slot short between a session's
// requests.
func (c *controller) queueTarget(s Signals) float64 {
	return float64(c.cfg.WaitingTolerance) + c.cfg.QueueFraction*float64(max(s.Running, 0))
}

// congestion returns the limit the congestion signals ask for and the
// dominant signal, or "" when none is over its line. Each target is a
// number of sessions, computed from the sessions we hold (InFlight) and
// not from the limit, so that reading the same congestion twice, while a
// cut drains, asks for the same limit instead of cutting twice:
//
//   - queue above QueueHigh × target: the waiting sequences past the
//     target are sessions the engine cannot run;
//   - preemptions above PreemptTolerance × running per interval: the KV
//     cache is over-committed by about the share preempted;
//   - KV above KVHigh, for engines that do not count preemptions.
func (c *controller) congestion(s Signals, w Window) (float64, Reason) {
	cfg := c.cfg
	held := float64(w.InFlight)
	run := float64(max(s.Running, 1))
	next, why := math.Inf(1), Reason("")
	if target := c.queueTarget(s); c.waiting > cfg.QueueHigh*target {
		next, why = held-(c.waiting-target), ReasonQueue
	}
	if c.preempt > cfg.PreemptTolerance*run {
		if f := held * (1 - min(1, c.preempt/run)); f < next {
			next, why = f, ReasonPreempt
		}
	}
	if c.kv > cfg.KVHigh {
		if f := held * cfg.KVTarget / c.kv; f < next {
			next, why = f, ReasonKV
		}
	}
	return next, why
}

// headroom: the engine queue is under its target, preemptions are rare,
// the cache is projected to hold more sessions, and TTFT is near its
// floor. A TTFT above TTFTTolerance × baseline only stops growth: the
// queue and the cache say whether the engine is overcommitted, while a
// slower engine (throttling, a co-tenant) raises TTFT at any load, and
// cutting then would lose throughput without shortening anything.
func (c *controller) headroom(s Signals) bool {
	cfg := c.cfg
	switch {
	case c.waiting >= c.queueTarget(s):
		return false
	case c.preempt > cfg.PreemptTolerance*float64(max(s.Running, 1))/2:
		return false
	case c.fit() <= float64(c.limit):
		return false
	case c.baseline > 0 && s.TTFTp50 > 0 && float64(s.TTFTp50) > cfg.TTFTTolerance*float64(c.baseline):
		return false
	}
	return true
}

// decrease sets the limit to next, bounded to [MinBackoff, MaxBackoff] of
// the current limit (a decision is visible in one step and never more
// than halves) and to Min, and starts the cooldown.
func (c *controller) decrease(next float64, why Reason) Reason {
	lim := float64(c.limit)
	next = max(lim*c.cfg.MinBackoff, min(lim*c.cfg.MaxBackoff, next))
	c.limit = max(c.cfg.Min, int(math.Floor(next)))
	c.slowStart = false
	c.cooldown = c.cfg.Cooldown
	return why
}

// observe records one interval in the window.
func (c *controller) observe(s Signals, w Window) {
	n := c.cfg.CapacityWindow
	if n <= 0 {
		return
	}
	r := reading{running: max(min(s.Running, w.InFlight), 0)}
	// Sessions queued in the engine hold a slot and no cache yet: counting
	// them reads the footprint of the sessions in the cache as smaller by
	// the queue, most of all while an overshoot drains (hundreds queued
	// behind a cache that holds a hundred), and lets the limit grow back
	// into the same overshoot once the drain ends. Sessions in a tool call
	// do count: they hold a slot and, between requests, no cache.
	if held := w.InFlight - min(max(s.Waiting, 0), w.InFlight); s.KVUsage >= 0 && held > 0 {
		r.perSession = s.KVUsage / float64(held)
	}
	if len(c.hist) < n {
		c.hist = append(c.hist, r)
		return
	}
	c.hist[c.next] = r
	c.next = (c.next + 1) % n
}

// capacity is the largest running batch of ours in the window: BBR's
// windowed max bandwidth, the batch the engine has shown it runs for us, as
// opposed to what a transient queue suggests. Counting only what we held
// keeps a co-tenant's sequences from raising the floor under our cuts.
func (c *controller) capacity() int {
	m := 0
	for _, r := range c.hist {
		m = max(m, r.running)
	}
	return m
}

// footprint is the mean KV usage per session over the window, 0 when
// unknown. A window of about a session's lifetime averages over sessions
// of every age. Not the latest reading: when sessions turn over, the young
// ones that replace them read small, and sizing the limit by them fills
// the cache as they grow. Not the max either: that is the moment a wave
// of sessions admitted together was longest, or a drain after a cut, when
// the cache is still full of long sequences and we hold fewer sessions.
func (c *controller) footprint() float64 {
	sum, n := 0.0, 0
	for _, r := range c.hist {
		if r.perSession > 0 {
			sum += r.perSession
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// fit is the largest limit whose KV usage is projected to stay at or
// under KVTarget, by two estimates, the lower winning: the usage KVHorizon
// intervals ahead if it keeps rising as it has, scaled to the limit
// (Vegas' expected against actual, on the cache rather than on the round
// trip: sessions admitted together grow together, and the cache they will
// fill shows only as a slope until it is full), and the window's mean
// footprint per session. +Inf when nothing is known.
func (c *controller) fit() float64 {
	f := math.Inf(1)
	if c.kv > 0 {
		f = float64(c.limit) * c.cfg.KVTarget / (c.kv + max(0, c.kvSlope)*c.cfg.KVHorizon)
	}
	if fp := c.footprint(); fp > 0 {
		f = min(f, c.cfg.KVTarget/fp)
	}
	return f
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
	case c.waiting <= c.queueTarget(s):
		c.baseline += time.Duration(c.cfg.BaselineDrift * float64(s.TTFTp50-c.baseline))
	}
}
