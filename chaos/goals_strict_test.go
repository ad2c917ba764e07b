//go:build chaos

package chaos

// strictGoals: under -tags chaos (make chaos, run on a quiet machine) the
// timing goals are asserted as they are written.
const strictGoals = true
