package infer_test

import (
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/infer"
)

// TestWriteTablePerTrajectory (issue 18 finding 6): the summary's token
// mean is per trajectory and says so; with k = 4 it read "tokens/problem"
// and divided by four times the problems.
func TestWriteTablePerTrajectory(t *testing.T) {
	s := &infer.Summary{Label: "k4", Total: 8, Trajectories: 8, CompletionTokens: 800}
	var b strings.Builder
	if err := infer.WriteTable(&b, s); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "tokens/traj") {
			row = line
		}
	}
	if !strings.Contains(row, "100") || strings.Contains(b.String(), "tokens/problem") {
		t.Errorf("table:\n%s\nwant a tokens/traj row of 100 and no tokens/problem", b.String())
	}
}
