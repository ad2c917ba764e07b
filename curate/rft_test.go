package curate

import (
	"context"
	"math"
	"testing"
)

func TestPassAtK(t *testing.T) {
	for _, tc := range []struct {
		n, c, k int
		want    float64
	}{
		{4, 0, 1, 0}, {4, 4, 1, 1}, {4, 1, 1, 0.25}, {4, 1, 4, 1}, {4, 2, 2, 1 - 1.0/6}, {10, 3, 5, 1 - 21.0/252},
	} {
		if got := PassAtK(tc.n, tc.c, tc.k); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("PassAtK(%d,%d,%d) = %v, want %v", tc.n, tc.c, tc.k, got, tc.want)
		}
	}
	if !math.IsNaN(PassAtK(2, 1, 3)) {
		t.Error("PassAtK with k > n should be NaN")
	}
}

func TestMajorityGroupsEquivalentAnswers(t *testing.T) {
	g := &MathGrader{}
	ss := []Sample{{"3", false}, {`\frac12`, true}, {"0.5", true}, {"3", false}, {"1/2", true}}
	ans, ok := Majority(context.Background(), g, ss)
	if ans != `\frac12` || !ok {
		t.Errorf("Majority = %q, %v; want \\frac12 (3 votes with 0.5 and 1/2), correct", ans, ok)
	}
	st := ComputeRFT(context.Background(), g, map[string][]Sample{"a": ss, "b": {{"1", false}, {"2", false}}})
	if st.Problems != 2 || st.K != 5 || st.Kept != 3 || math.Abs(st.PassAt1-0.3) > 1e-12 || st.PassAtK != 0.5 || st.MajAtK != 0.5 {
		t.Errorf("ComputeRFT = %+v", st)
	}
}
