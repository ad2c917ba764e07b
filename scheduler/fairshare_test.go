package scheduler

import (
	"math"
	"testing"
)

func TestFairShareLongRun(t *testing.T) {
	tests := []struct {
		name string
		jobs []JobShare
		want map[string]float64 // expected share of dispatches
	}{
		{"equal weights", []JobShare{{ID: "a"}, {ID: "b"}}, map[string]float64{"a": 0.5, "b": 0.5}},
		{"weights 1:2:3", []JobShare{{ID: "a", Weight: 1}, {ID: "b", Weight: 2}, {ID: "c", Weight: 3}},
			map[string]float64{"a": 1.0 / 6, "b": 2.0 / 6, "c": 3.0 / 6}},
		{"strict priority", []JobShare{{ID: "lo", Weight: 100}, {ID: "hi", Priority: 1}},
			map[string]float64{"hi": 1}},
		{"empty backlog skipped", []JobShare{{ID: "a"}, {ID: "b", Backlog: -1}}, map[string]float64{"a": 1}},
		{"in-flight cap", []JobShare{{ID: "a", MaxInFlight: 5, InFlight: 5}, {ID: "b"}}, map[string]float64{"b": 1}},
	}
	const n = 6000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFairShare()
			jobs := append([]JobShare(nil), tc.jobs...)
			for i := range jobs {
				jobs[i].Backlog = max(jobs[i].Backlog+1, 0) * n // -1 → 0, else plenty
			}
			got := map[string]int{}
			for range n {
				id, ok := f.Next(jobs)
				if !ok {
					t.Fatal("Next found no eligible job")
				}
				got[id]++
			}
			for id, share := range tc.want {
				if g := float64(got[id]) / n; math.Abs(g-share) > 0.01 {
					t.Errorf("job %s share = %.3f, want %.3f (counts %v)", id, g, share, got)
				}
			}
			for id := range got {
				if _, ok := tc.want[id]; !ok {
					t.Errorf("job %s dispatched %d times, want 0", id, got[id])
				}
			}
		})
	}
}

// TestFairShareNoBankedCredit: a job idle for a while must not then take
// every dispatch to "catch up".
func TestFairShareNoBankedCredit(t *testing.T) {
	f := NewFairShare()
	a := JobShare{ID: "a", Backlog: 1 << 20}
	b := JobShare{ID: "b"}
	for range 1000 {
		f.Next([]JobShare{a, b})
	}
	b.Backlog = 1 << 20
	got := map[string]int{}
	for range 100 {
		id, _ := f.Next([]JobShare{a, b})
		got[id]++
	}
	if got["a"] < 45 || got["b"] < 45 {
		t.Errorf("after b returns: %v, want about 50/50", got)
	}
}

func TestFairShareNoneEligible(t *testing.T) {
	if id, ok := NewFairShare().Next([]JobShare{{ID: "a"}}); ok {
		t.Errorf("Next = %q, true; want false with no backlog", id)
	}
}
