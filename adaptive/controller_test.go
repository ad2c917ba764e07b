package adaptive

import (
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
// after each.
func run(c *controller, steps []step) ([]int, []Reason) {
	var limits []int
	var reasons []Reason
	for _, st := range steps {
		w := st.w
		if w.PeakInFlight < 0 { // -1: "used the whole limit"
			w.PeakInFlight = c.limit
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

func TestControllerScenarios(t *testing.T) {
	full := Window{Completed: 1, PeakInFlight: -1}
	tests := []struct {
		name  string
		cfg   func(*Config)
		steps []step
		// check runs on the limits and reasons after each step.
		check func(t *testing.T, limits []int, reasons []Reason)
	}{
		{
			name:  "healthy engine grows by slow start then stops at max",
			steps: repeat(8, step{healthy(10, 0.05), full}),
			check: func(t *testing.T, limits []int, reasons []Reason) {
				want := []int{32, 64, 128, 128}
				for i, w := range want {
					if limits[i] != w {
						t.Fatalf("limits = %v, want prefix %v", limits, want)
					}
				}
				if reasons[0] != ReasonSlowStart {
					t.Errorf("reason[0] = %s, want %s", reasons[0], ReasonSlowStart)
				}
			},
		},
		{
			name:  "unused limit does not grow",
			steps: repeat(5, step{healthy(3, 0.1), Window{Completed: 1, PeakInFlight: 3}}),
			check: func(t *testing.T, limits []int, reasons []Reason) {
				for i := range limits {
					if limits[i] != 16 || reasons[i] != ReasonIdle {
						t.Fatalf("step %d: limit %d reason %s, want 16 %s", i, limits[i], reasons[i], ReasonIdle)
					}
				}
			},
		},
		{
			name: "kv fills: limit drops, then holds in cooldown",
			steps: append(repeat(1, step{healthy(16, 0.2), full}),
				repeat(6, step{healthy(30, 0.99), full})...),
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if limits[0] != 32 {
					t.Fatalf("limits = %v, want 32 first", limits)
				}
				cut := -1
				for i, r := range reasons {
					if r == ReasonKV {
						cut = i
						break
					}
				}
				if cut < 1 || limits[cut] >= limits[cut-1] || limits[cut] < limits[cut-1]/2 {
					t.Fatalf("limits = %v reasons = %v, want a kv cut by at most half", limits, reasons)
				}
				if reasons[cut+1] != ReasonCooldown || limits[cut+1] != limits[cut] {
					t.Fatalf("limits = %v reasons = %v, want a cooldown hold after the cut", limits, reasons)
				}
			},
		},
		{
			name:  "queue builds: multiplicative decrease",
			steps: []step{{Signals{Running: 64, Waiting: 64, KVUsage: 0.5, GPUUtil: -1}, full}},
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if reasons[0] != ReasonQueue || limits[0] != 8 {
					t.Fatalf("limit %d reason %s, want 8 (16 × max(0.5, 64/128)) %s", limits[0], reasons[0], ReasonQueue)
				}
			},
		},
		{
			name:  "a queue within tolerance holds, past it cuts by at least MaxBackoff",
			steps: []step{{Signals{Running: 64, Waiting: 3, KVUsage: 0.5, GPUUtil: -1}, full}, {Signals{Running: 64, Waiting: 8, KVUsage: 0.5, GPUUtil: -1}, full}},
			check: func(t *testing.T, limits []int, reasons []Reason) {
				// Line: 1 + 0.05 × 64 = 4.2; smoothed queue 3 (hold: above
				// half the line, so no growth), then 5.5 (cut, 64/69.5 → 0.9).
				if reasons[0] != ReasonHold || limits[0] != 16 {
					t.Fatalf("limits %v reasons %v, want hold at 16 first", limits, reasons)
				}
				if reasons[1] != ReasonQueue || limits[1] != 14 {
					t.Fatalf("limits %v reasons %v, want a queue cut to 14", limits, reasons)
				}
			},
		},
		{
			name:  "overload halves even in cooldown",
			steps: []step{{Signals{Running: 64, Waiting: 64, KVUsage: 0.5, GPUUtil: -1}, full}, {healthy(10, 0.1), Window{Overloaded: 1, Errors: 1, PeakInFlight: -1}}},
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if reasons[1] != ReasonOverload || limits[1] != 4 {
					t.Fatalf("limits %v reasons %v, want 8 then 4 %s", limits, reasons, ReasonOverload)
				}
			},
		},
		{
			name:  "rare errors are tolerated, many are not",
			steps: []step{{healthy(10, 0.05), Window{Completed: 50, Errors: 1, PeakInFlight: -1}}, {healthy(10, 0.05), Window{Completed: 5, Errors: 5, PeakInFlight: -1}}},
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if reasons[0] != ReasonSlowStart || reasons[1] != ReasonErrors || limits[1] != 28 {
					t.Fatalf("limits %v reasons %v, want growth then an error cut to 28", limits, reasons)
				}
			},
		},
		{
			name: "slowdown: ttft triples, limit drops, baseline relearns, limit grows back",
			cfg:  func(c *Config) { c.Initial = 64 },
			steps: append(
				repeat(3, step{Signals{Running: 60, KVUsage: 0.3, TTFTp50: 40 * time.Millisecond, GPUUtil: -1}, Window{Completed: 1, PeakInFlight: -1}}),
				repeat(30, step{Signals{Running: 60, KVUsage: 0.3, TTFTp50: 120 * time.Millisecond, GPUUtil: -1}, Window{Completed: 1, PeakInFlight: -1}})...),
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if limits[2] != 128 {
					t.Fatalf("limits %v: want 128 before the slowdown", limits)
				}
				if reasons[3] != ReasonTTFT || limits[3] >= 128 {
					t.Fatalf("limits %v reasons %v: want a ttft cut at the slowdown", limits, reasons)
				}
				low := 128
				for _, l := range limits[3:] {
					low = min(low, l)
				}
				if low < 16 {
					t.Errorf("limit fell to %d: the baseline should relearn before collapse", low)
				}
				if last := limits[len(limits)-1]; last <= low {
					t.Errorf("limits %v: want recovery above the low %d", limits, low)
				}
			},
		},
		{
			name: "recovery after kv pressure grows additively",
			steps: append(repeat(4, step{healthy(40, 0.99), full}),
				repeat(8, step{healthy(20, 0.3), full})...),
			check: func(t *testing.T, limits []int, reasons []Reason) {
				cut := -1
				for i, r := range reasons {
					if r == ReasonKV {
						cut = i
						break
					}
				}
				if cut < 0 {
					t.Fatalf("reasons %v: want a kv cut", reasons)
				}
				last := reasons[len(reasons)-1]
				if last != ReasonIncrease {
					t.Fatalf("reasons %v: want additive increase at the end", reasons)
				}
				if limits[len(limits)-1] <= limits[cut] {
					t.Fatalf("limits %v: want growth after the cut", limits)
				}
			},
		},
		{
			name:  "projected kv caps a growth step",
			steps: []step{{healthy(8, 0.35), full}},
			check: func(t *testing.T, limits []int, reasons []Reason) {
				// per-seq 0.35/8 → 0.92 fits 21 sequences.
				if limits[0] != 21 || reasons[0] != ReasonSlowStart {
					t.Fatalf("limit %d reason %s, want 21 %s", limits[0], reasons[0], ReasonSlowStart)
				}
			},
		},
		{
			name: "no second cut while the first drains",
			steps: []step{
				{Signals{Running: 64, Waiting: 64, KVUsage: 0.5, GPUUtil: -1}, Window{PeakInFlight: 16, InFlight: 16}},
				{Signals{Running: 64, Waiting: 64, KVUsage: 0.5, GPUUtil: -1}, Window{PeakInFlight: 16, InFlight: 16}},
			},
			cfg: func(c *Config) { c.Cooldown = 0 },
			check: func(t *testing.T, limits []int, reasons []Reason) {
				if reasons[0] != ReasonQueue || reasons[1] != ReasonDraining || limits[1] != limits[0] {
					t.Fatalf("limits %v reasons %v, want a cut then draining", limits, reasons)
				}
			},
		},
		{
			name:  "never below min",
			cfg:   func(c *Config) { c.Initial = 3; c.Cooldown = 0 },
			steps: repeat(6, step{Signals{Running: 3, Waiting: 100, KVUsage: 1, GPUUtil: -1}, full}),
			check: func(t *testing.T, limits []int, _ []Reason) {
				if limits[len(limits)-1] != 2 {
					t.Fatalf("limits %v, want to end at min 2", limits)
				}
			},
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
			t.Logf("limits %v", limits)
			tc.check(t, limits, reasons)
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
		{"kv target above high", func(c *Config) { c.KVTarget = 0.95 }, false},
		{"ttft tolerance below 1", func(c *Config) { c.TTFTTolerance = 0.5 }, false},
		{"backoff 1", func(c *Config) { c.MaxBackoff = 1 }, false},
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
