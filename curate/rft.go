package curate

import (
	"context"
	"math"
	"sort"
)

// PassAtK is the unbiased pass@k estimator of Chen et al. (2021) for a
// problem with n samples of which c are correct: 1 - C(n-c, k) / C(n, k).
func PassAtK(n, c, k int) float64 {
	if k <= 0 || n <= 0 || k > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p
}

// Sample is one graded sample of a problem, for RFT statistics.
type Sample struct {
	Answer  string
	Correct bool
}

// Majority returns the most common answer among samples, grouping answers
// that grade as equal (so "0.5" and "\frac12" vote together), and whether
// that answer is correct. Ties go to the answer seen first.
func Majority(ctx context.Context, g *MathGrader, samples []Sample) (answer string, correct bool) {
	type group struct {
		answer  string
		correct bool
		votes   int
		first   int
	}
	var groups []*group
next:
	for i, s := range samples {
		if Normalize(s.Answer) == "" {
			continue
		}
		for _, gr := range groups {
			if gr.answer == s.Answer || g.Grade(ctx, s.Answer, gr.answer).Equal {
				gr.votes++
				continue next
			}
		}
		groups = append(groups, &group{answer: s.Answer, correct: s.Correct, votes: 1, first: i})
	}
	if len(groups) == 0 {
		return "", false
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].votes > groups[j].votes })
	return groups[0].answer, groups[0].correct
}

// RFTStats are the sampling statistics of an RFT job.
type RFTStats struct {
	Problems int     `json:"problems"`
	K        int     `json:"k"`
	PassAt1  float64 `json:"pass_at_1"`
	PassAtK  float64 `json:"pass_at_k"`
	MajAtK   float64 `json:"maj_at_k"`
	Kept     int     `json:"kept"`
}

// ComputeRFT summarises samples per problem (each problem's slice holds its
// k samples) as pass@1, pass@k and maj@k over problems.
func ComputeRFT(ctx context.Context, g *MathGrader, byProblem map[string][]Sample) RFTStats {
	st := RFTStats{Problems: len(byProblem)}
	if st.Problems == 0 {
		return st
	}
	for _, ss := range byProblem {
		n, c := len(ss), 0
		for _, s := range ss {
			if s.Correct {
				c++
			}
		}
		st.K = max(st.K, n)
		st.PassAt1 += PassAtK(n, c, 1)
		st.PassAtK += PassAtK(n, c, n)
		if _, ok := Majority(ctx, g, ss); ok {
			st.MajAtK++
		}
		st.Kept += c
	}
	p := float64(st.Problems)
	st.PassAt1 /= p
	st.PassAtK /= p
	st.MajAtK /= p
	return st
}
