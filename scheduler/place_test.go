package scheduler

import (
	"fmt"
	"strings"
	"testing"
)

func worker(id string, inFlight, capacity int) Worker {
	return Worker{ID: id, Pool: "qwq", Model: "qwq", Engines: []string{"vllm"}, Alive: true, InFlight: inFlight, Capacity: capacity}
}

// affineOf returns the HRW winner for problem among ids.
func affineOf(problem string, ids ...string) string {
	best := ids[0]
	for _, id := range ids[1:] {
		if HRW(problem, id) > HRW(problem, best) {
			best = id
		}
	}
	return best
}

func TestPlace(t *testing.T) {
	task := Task{ID: "t1", JobID: "j1", ProblemID: "p1", Pool: "qwq"}
	ids := []string{"w1", "w2", "w3"}
	aff := affineOf("p1", ids...)
	with := func(mod func(w *Worker)) []Worker {
		ws := []Worker{worker("w1", 0, 4), worker("w2", 0, 4), worker("w3", 0, 4)}
		for i := range ws {
			mod(&ws[i])
		}
		return ws
	}
	tests := []struct {
		name       string
		task       Task
		workers    []Worker
		wantWorker string // "" means none; "other" means any non-affine
		wantAffine bool
		wantReason string
	}{
		{"affinity on idle fleet", task, with(func(*Worker) {}), aff, true, "affinity"},
		{"affinity within slack", task, with(func(w *Worker) {
			if w.ID == aff {
				w.InFlight = 2
			}
		}), aff, true, "affinity"},
		{"affinity yields to load beyond slack", task, with(func(w *Worker) {
			if w.ID == aff {
				w.InFlight = 3
			}
		}), "other", false, "least loaded"},
		{"affine worker dead", task, with(func(w *Worker) { w.Alive = w.ID != aff }), "other", true, "affinity"},
		{"affine worker draining", task, with(func(w *Worker) { w.Draining = w.ID == aff }), "other", true, "affinity"},
		{"affine worker full", task, with(func(w *Worker) {
			if w.ID == aff {
				w.Capacity, w.InFlight = 2, 2
			}
		}), "other", true, "affinity"},
		{"other pool only", task, with(func(w *Worker) { w.Pool = "llama" }), "", false, "3 other pool"},
		{"engine required", Task{ID: "t", ProblemID: "p1", Pool: "qwq", Engine: "sglang"}, with(func(w *Worker) {
			if w.ID == ids[1] {
				w.Engines = []string{"sglang"}
			}
		}), ids[1], true, "affinity"},
		{"all full", task, with(func(w *Worker) { w.InFlight = w.Capacity }), "", false, "3 at capacity"},
		{"no workers", task, nil, "", false, "no workers"},
		{"no problem id: least loaded", Task{ID: "t", Pool: "qwq"}, with(func(w *Worker) {
			w.InFlight = map[string]int{"w1": 3, "w2": 1, "w3": 2}[w.ID]
		}), "w2", false, "least loaded"},
	}
	stack, err := NewStack()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := stack.Place(tc.task, tc.workers)
			switch tc.wantWorker {
			case "other":
				if got.Worker == aff || got.Worker == "" {
					t.Errorf("Place = %+v, want a worker other than %s", got, aff)
				}
			default:
				if got.Worker != tc.wantWorker {
					t.Errorf("Place = %+v, want worker %q", got, tc.wantWorker)
				}
			}
			if got.Affine != tc.wantAffine || !strings.Contains(got.Reason, tc.wantReason) {
				t.Errorf("Place = %+v, want affine=%v reason containing %q", got, tc.wantAffine, tc.wantReason)
			}
		})
	}
}

// TestPlaceDeathSpiral places all samples of one hot problem one at a time,
// counting each placement as load, and checks they spread instead of piling
// onto the affine worker until it saturates.
func TestPlaceDeathSpiral(t *testing.T) {
	tests := []struct {
		name     string
		workers  int
		capacity int
		samples  int
		slack    int
	}{
		{"16 samples on 4 workers", 4, 8, 16, 2},
		{"64 samples on 8 workers", 8, 16, 64, 2},
		{"slack 0 spreads evenly", 4, 8, 16, 0},
		{"more samples than capacity", 2, 4, 12, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack, err := NewStack(WithAffinitySlack(tc.slack))
			if err != nil {
				t.Fatal(err)
			}
			ws := make([]Worker, tc.workers)
			for i := range ws {
				ws[i] = worker(fmt.Sprint("w", i), 0, tc.capacity)
			}
			shared := 0
			for s := range tc.samples {
				p := stack.Place(Task{ID: fmt.Sprint("t", s), ProblemID: "hot", Pool: "qwq"}, ws)
				if p.Worker == "" {
					shared++
					continue
				}
				for i := range ws {
					if ws[i].ID == p.Worker {
						ws[i].InFlight++
					}
				}
			}
			lo, hi := tc.capacity, 0
			for _, w := range ws {
				if w.InFlight > w.Capacity {
					t.Errorf("worker %s holds %d > capacity %d", w.ID, w.InFlight, w.Capacity)
				}
				lo, hi = min(lo, w.InFlight), max(hi, w.InFlight)
			}
			if hi-lo > tc.slack+1 {
				t.Errorf("loads spread %d..%d, want within slack %d+1: %+v", lo, hi, tc.slack, ws)
			}
			if want := max(tc.samples-tc.workers*tc.capacity, 0); shared != want {
				t.Errorf("shared-subject placements = %d, want %d", shared, want)
			}
		})
	}
}

func TestHRWStability(t *testing.T) {
	// Removing a worker moves only the problems that were affine to it.
	ids := []string{"w0", "w1", "w2", "w3", "w4"}
	moved := 0
	for p := range 1000 {
		prob := fmt.Sprint("p", p)
		before := affineOf(prob, ids...)
		after := affineOf(prob, ids[:4]...)
		if before != after {
			if before != "w4" {
				t.Fatalf("problem %s moved from %s to %s though %s stayed", prob, before, after, before)
			}
			moved++
		}
	}
	if moved < 100 || moved > 300 {
		t.Errorf("moved %d of 1000 problems, want about 200", moved)
	}
}
