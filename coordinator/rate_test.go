package coordinator

import (
	"math"
	"testing"
	"time"
)

// TestTokenRate: a job's tokens/s is what it wrote over the last minute,
// falls to 0 when it stalls, and never reads a negative rate (finding 6:
// the job row always read 0.0 tok/s).
func TestTokenRate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var r tokenRate
	for _, tc := range []struct {
		at     time.Duration
		tokens int64
		want   float64
	}{
		{0, 0, 0},
		{10 * time.Second, 1000, 100},
		{20 * time.Second, 3000, 150},
		{70 * time.Second, 3000, 2000.0 / 60}, // the window starts at 10 s
		{140 * time.Second, 3000, 0},          // stalled for over a minute
		{150 * time.Second, 2000, 0},          // a smaller total (a new term) is no negative rate
	} {
		if got := r.observe(t0.Add(tc.at), tc.tokens); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("at %v, %d tokens: %.3f tok/s, want %.3f", tc.at, tc.tokens, got, tc.want)
		}
	}
}
