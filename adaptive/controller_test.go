package adaptive

import (
	"math"
	"testing"
	"time"
)

// step is one scripted interval: the engine's signals and our window.
type step struct {
	s Signals
	w Window
}

// healthy is an engine with room: no queue, KV low, TTFT at its floor.
func healthy(running int, kv float64) Signals {
	return Signals{Running: running, KVUsage: kv, TTFTp50: 40 * time.Millisecond, GPUUtil: -1}
}

func testConfig() Config {
	c := DefaultConfig()
	c.Initial, c.Min, c.Max = 16, 2, 128
	return c
}

// run feeds steps through a controller and returns the limit and reason
// after each. A window's PeakInFlight or InFlight of -1 stands for "the
// whole limit".
func run(c *controller, steps []step) ([]int, []Reason) {
	var limits []int
	var reasons []Reason
	for _, st := range steps {
		w := st.w
		if w.PeakInFlight < 0 {
			w.PeakInFlight = c.limit
		}
		if w.InFlight < 0 {
			w.InFlight = c.limit
		}
		l, r := c.update(st.s, w, true)
		limits = append(limits, l)
		reasons = append(reasons, r)
	}
	return limits, reasons
}

func repeat(n int, st step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = st
	}
	return out
}

// engineAt is an engine reading with the TTFT at its floor.
func engineAt(running, waiting int, kv float64, preempted int) Signals {
	return Signals{Running: running, Waiting: waiting, KVUsage: kv, Preemptions: preempted, TTFTp50: 40 * time.Millisecond, GPUUtil: -1}
}

func TestControllerScenarios(t *testing.T) {
	full := Window{Completed: 1, PeakInFlight: -1}
	held := Window{Completed: 1, PeakInFlight: -1, InFlight: -1}
	noFloor := func(c *Config) { c.CapacityFloor = 0 }
	tests := []struct {
		name  string
		cfg   func(*Config)
		steps []step
		// want are the limits and reasons after each step; a "" reason
		// is not checked.
		want    []int
		reasons []Reason
	}{
		{
			name:    "healthy engine grows by slow start then stops at max",
			steps:   repeat(4, step{healthy(10, 0.05), full}),
			want:    []int{48, 128, 128, 128},
			reasons: []Reason{ReasonSlowStart, ReasonSlowStart, ReasonHold, ReasonHold},
		},
		{
			name:    "unused limit does not grow",
			steps:   repeat(3, step{healthy(3, 0.1), Window{Completed: 1, PeakInFlight: 3}}),
			want:    []int{16, 16, 16},
			reasons: []Reason{ReasonIdle, ReasonIdle, ReasonIdle},
		},
		{
			// KV 0.1 → 0.2: the slope (0.1 per interval) projects the
			// smoothed 0.15 to 1.15 ten intervals ahead, so growth stops
			// while the gauge reads 0.2; it stays stopped as the KV rises.
			name: "a rising cache ends growth long before it fills",
			steps: []step{
				{healthy(16, 0.1), held}, {healthy(48, 0.2), held},
				{healthy(48, 0.3), held}, {healthy(48, 0.4), held},
			},
			cfg:     func(c *Config) { c.CapacityWindow = 0 },
			want:    []int{48, 48, 48, 48},
			reasons: []Reason{ReasonSlowStart, ReasonHold, ReasonHold, ReasonHold},
		},
		{
			// Slow start would take 48; the cache caps it: 0.3 over the
			// 14 sessions not queued is 0.0214 each, 0.97 fits 45.
			name:    "a queue under its target still grows",
			steps:   []step{{engineAt(64, 2, 0.3, 0), held}},
			want:    []int{45},
			reasons: []Reason{ReasonSlowStart},
		},
		{
			// Target 1 + 0.03 × 64 = 2.92: 4 waiting is the small queue
			// aimed for, so neither grow nor cut.
			name:    "a queue between target and QueueHigh × target holds",
			steps:   []step{{engineAt(64, 4, 0.3, 0), held}},
			want:    []int{16},
			reasons: []Reason{ReasonHold},
		},
		{
			// 64 held − (10 − 2.92) excess = 56.9; read again while it
			// drains, the same queue asks for the same limit: no second
			// cut.
			name:    "a long queue cuts the excess once, then drains",
			cfg:     func(c *Config) { noFloor(c); c.Initial = 64 },
			steps:   repeat(2, step{engineAt(64, 10, 0.5, 0), Window{PeakInFlight: 64, InFlight: 64}}),
			want:    []int{56, 56},
			reasons: []Reason{ReasonQueue, ReasonDraining},
		},
		{
			// 6 of 60 preempted: the cache holds about 10% fewer.
			name:    "preemptions above tolerance cut by the share preempted",
			cfg:     func(c *Config) { noFloor(c); c.Initial = 64 },
			steps:   []step{{engineAt(60, 0, 0.95, 6), held}},
			want:    []int{57},
			reasons: []Reason{ReasonPreempt},
		},
		{
			// Tolerance 0.05 × 60 = 3 per interval: 2 stops growth, 1 not.
			name:    "a few preemptions hold growth, rare ones do not",
			cfg:     func(c *Config) { c.Initial = 32 },
			steps:   []step{{engineAt(60, 0, 0.6, 2), held}, {engineAt(60, 0, 0.6, 0), held}},
			want:    []int{32, 37},
			reasons: []Reason{ReasonHold, ReasonIncrease},
		},
		{
			// Without the floor the queue asks for 100 − 19.4 = 80; the
			// window saw 100 of ours running, so the cut stops at 90.
			name: "a cut stops at CapacityFloor of the batch the engine ran",
			cfg:  func(c *Config) { c.Initial = 100 },
			steps: []step{
				{engineAt(100, 5, 0.5, 0), held},
				{engineAt(70, 40, 1, 0), held},
			},
			want:    []int{100, 90},
			reasons: []Reason{ReasonHold, ReasonQueue},
		},
		{
			// 100 held, 40 waiting: the queue asks for 100 − (40 − 2.8)
			// = 62.8, above the limit of 40, so nothing is cut; but the
			// engine ran 60 of ours, and a limit left at 40 would leave
			// its batch short once the drain ends: it comes up to 0.9 ×
			// 60 = 54, and stays there while the same reading repeats.
			name:    "draining raises a limit below the floor of the batch the engine ran",
			cfg:     func(c *Config) { c.Initial = 40 },
			steps:   repeat(2, step{engineAt(60, 40, 1, 0), Window{PeakInFlight: 100, InFlight: 100}}),
			want:    []int{54, 54},
			reasons: []Reason{ReasonDraining, ReasonDraining},
		},
		{
			name:    "kv above KVHigh cuts toward KVTarget",
			cfg:     func(c *Config) { noFloor(c); c.Initial = 64 },
			steps:   []step{{engineAt(60, 0, 1, 0), held}},
			want:    []int{57},
			reasons: []Reason{ReasonKV},
		},
		{
			// TTFT triples: growth stops, nothing is cut, and once the
			// baseline has drifted up (40 → 44 → 47.8 → 51.4 ms) growth
			// resumes.
			name: "slowdown: ttft holds growth without cutting, then the baseline relearns",
			cfg:  func(c *Config) { c.Initial = 32; c.CapacityWindow = 0 },
			steps: append(repeat(2, step{engineAt(60, 0, 0.6, 0), held}),
				repeat(4, step{Signals{Running: 60, KVUsage: 0.6, TTFTp50: 120 * time.Millisecond, GPUUtil: -1}, held})...),
			want:    []int{37, 43, 43, 43, 43, 49},
			reasons: []Reason{ReasonIncrease, ReasonIncrease, ReasonHold, ReasonHold, ReasonHold, ReasonIncrease},
		},
		{
			name:    "overload halves even in cooldown",
			steps:   []step{{engineAt(64, 64, 0.5, 0), held}, {healthy(10, 0.1), Window{Overloaded: 1, Errors: 1, PeakInFlight: -1}}},
			want:    []int{14, 7},
			reasons: []Reason{ReasonQueue, ReasonOverload},
		},
		{
			name:    "rare errors are tolerated, many are not",
			steps:   []step{{healthy(10, 0.05), Window{Completed: 50, Errors: 1, PeakInFlight: -1}}, {healthy(10, 0.05), Window{Completed: 5, Errors: 5, PeakInFlight: -1}}},
			want:    []int{48, 43},
			reasons: []Reason{ReasonSlowStart, ReasonErrors},
		},
		{
			name:    "never below min",
			cfg:     func(c *Config) { c.Initial = 3; c.Cooldown = 0 },
			steps:   repeat(4, step{engineAt(3, 100, 1, 0), held}),
			want:    []int{2, 2, 2, 2},
			reasons: []Reason{ReasonQueue, "", "", ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			limits, reasons := run(newController(cfg), tc.steps)
			for i := range tc.want {
				if limits[i] != tc.want[i] || (tc.reasons[i] != "" && reasons[i] != tc.reasons[i]) {
					t.Fatalf("limits %v reasons %v, want %v %v", limits, reasons, tc.want, tc.reasons)
				}
			}
		})
	}
}

// TestControllerFootprintAfterTurnover: sessions that replace a batch of
// finished ones read small at first. With the window's mean footprint
// (8 readings at 0.0097 per session, one at 0.005: 0.00918) the limit
// grows only to what the cache holds at that mean, 105; sized by the latest
// reading alone it would take the full additive step to 110.
func TestControllerFootprintAfterTurnover(t *testing.T) {
	steps := append(repeat(8, step{engineAt(100, 0, 0.97, 0), Window{Completed: 1, PeakInFlight: -1, InFlight: -1}}),
		step{engineAt(100, 0, 0.5, 0), Window{Completed: 1, PeakInFlight: -1, InFlight: -1}})
	tests := []struct {
		name   string
		window int
		want   int
	}{
		{"windowed footprint", DefaultCapacityWindow, 105},
		{"latest reading only", 0, 110},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Initial, cfg.Max, cfg.CapacityWindow = 100, 200, tc.window
			limits, reasons := run(newController(cfg), steps)
			for i := 0; i < 8; i++ {
				if limits[i] != 100 || reasons[i] != ReasonHold {
					t.Fatalf("limits %v reasons %v: want a hold at 100 while the cache is at its target", limits, reasons)
				}
			}
			if got := limits[8]; got != tc.want || reasons[8] != ReasonIncrease {
				t.Fatalf("after turnover: limit %d (%s), want %d (%s)", got, reasons[8], tc.want, ReasonIncrease)
			}
		})
	}
}

func TestControllerFailedReadingHolds(t *testing.T) {
	c := newController(testConfig())
	if l, r := c.update(Unknown(), Window{PeakInFlight: 16}, false); l != 16 || r != ReasonNoSignals {
		t.Fatalf("got %d %s, want 16 %s", l, r, ReasonNoSignals)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"min zero", func(c *Config) { c.Min = 0 }, false},
		{"initial above max", func(c *Config) { c.Initial = c.Max + 1 }, false},
		{"kv target above high", func(c *Config) { c.KVTarget = 0.995 }, false},
		{"ttft tolerance below 1", func(c *Config) { c.TTFTTolerance = 0.5 }, false},
		{"backoff 1", func(c *Config) { c.MaxBackoff = 1 }, false},
		{"queue high below 1", func(c *Config) { c.QueueHigh = 0.5 }, false},
		{"negative preempt tolerance", func(c *Config) { c.PreemptTolerance = -1 }, false},
		{"capacity floor above 1", func(c *Config) { c.CapacityFloor = 1.5 }, false},
		{"slow start factor 1", func(c *Config) { c.SlowStartFactor = 1 }, false},
		{"no interval", func(c *Config) { c.Interval = 0 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestControllerFootprintIgnoresQueued: sessions queued in the engine hold
// a slot and no cache, so the footprint is the cache over the sessions not
// queued. While an overshoot drains (400 held, 300 of them queued behind a
// cache full of 100), counting the queued ones would read a quarter of the
// footprint and let the limit grow back to ~390 once the queue is gone.
func TestControllerFootprintIgnoresQueued(t *testing.T) {
	tests := []struct {
		name              string
		waiting, inFlight int
		want              float64
	}{
		{"no queue", 0, 100, 0.99 / 100},
		{"drain behind a full cache", 300, 400, 0.99 / 100},
		{"a co-tenant's queue longer than ours", 500, 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newController(DefaultConfig())
			c.observe(engineAt(100, tc.waiting, 0.99, 0), Window{PeakInFlight: tc.inFlight, InFlight: tc.inFlight})
			if got := c.footprint(); math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("footprint %v, want %v", got, tc.want)
			}
		})
	}
}
