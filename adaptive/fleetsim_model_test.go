package adaptive

import (
	"math"
	"testing"
)

// TestFleetSimTimeModel checks the discrete-event model against the time
// model it claims to follow: with room in the cache, a batch of equal
// sessions admitted together takes one prefill step plus one decode step
// per further token; with a cache too small for them, it preempts and still
// delivers every token exactly once.
func TestFleetSimTimeModel(t *testing.T) {
	sh := shape{name: "t", stepBase: 0.02, stepPerSeq: 0.0002, prefillPerToken: 0.00004, kvTokens: 300_000, maxNumSeqs: 256}
	tasks := make([]taskSpec, 64)
	for i := range tasks {
		tasks[i] = taskSpec{prompt: 100, segments: []int{1000}}
	}
	r, err := runFleet([]shape{sh}, tasks, 0, 0, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	step := sh.stepBase + 64*sh.stepPerSeq
	want := 64 * 1000 / (step + 64*100*sh.prefillPerToken + 999*step)
	if math.Abs(r.tokensPerSec/want-1) > 1e-9 {
		t.Errorf("throughput %.3f tok/s, want %.3f", r.tokensPerSec, want)
	}
	if r.preemptions != 0 {
		t.Errorf("preemptions %d with room in the cache, want 0", r.preemptions)
	}

	small := sh
	small.kvTokens = 16_000 // ~15 sessions at their final length
	r2, err := runFleet([]shape{small}, tasks, 0, 0, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	if r2.preemptions == 0 {
		t.Error("no preemption with a cache that holds a quarter of the batch")
	}
	if r2.tokensPerSec >= r.tokensPerSec {
		t.Errorf("small cache %.0f tok/s, not below the large cache's %.0f", r2.tokensPerSec, r.tokensPerSec)
	}
}

// TestFleetSimToolCallsHoldSlots checks that a session holds its limiter
// slot through its tool calls: at fixed concurrency 1 the job takes the sum
// of its sessions' generation and tool time.
func TestFleetSimToolCallsHoldSlots(t *testing.T) {
	sh := shape{name: "t", stepBase: 0.01, kvTokens: 100_000, maxNumSeqs: 8}
	tasks := []taskSpec{{prompt: 10, segments: []int{10, 10}, outputs: []int{5}}, {prompt: 10, segments: []int{20}}}
	r, err := runFleet([]shape{sh}, tasks, 2, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 40 decode steps of 10 ms and one 2 s tool call, one session at a time.
	if want := 40 / (40*0.01 + 2); math.Abs(r.tokensPerSec/want-1) > 1e-9 {
		t.Errorf("throughput %.4f tok/s, want %.4f", r.tokensPerSec, want)
	}
}

// TestAdaptiveScenarioSmoke runs two small scenarios of the suite, a
// batch-bound and a KV-bound one, and checks that the adaptive limiter with
// its defaults gets within 10% of the best fixed setting on each; the full
// suite runs in BenchmarkAdaptiveScenarios.
func TestAdaptiveScenarioSmoke(t *testing.T) {
	scs := []scenario{
		{name: "h200/gsm8k", engines: []shape{h200}, mix: gsm8k, tasksPerEngine: 800},
		{name: "a100-40g/math500", engines: []shape{a100x40}, mix: math5, toolCalls: 1, toolWait: 0.5, tasksPerEngine: 300},
	}
	for i, sc := range scs {
		tasks := sc.tasks(uint64(i + 1))
		best := 0.0
		for _, n := range []int{16, 64, 256} {
			r, err := runFleet(sc.engines, tasks, sc.toolWait, 0, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			best = max(best, r.tokensPerSec)
		}
		ad, err := runFleet(sc.engines, tasks, sc.toolWait, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if x := ad.tokensPerSec / best; x < 0.9 {
			t.Errorf("%s: adaptive %.0f tok/s is %.3fx the best fixed (%.0f), want >= 0.9", sc.name, ad.tokensPerSec, x, best)
		}
	}
}
