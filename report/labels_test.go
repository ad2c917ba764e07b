package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestPerTrajectoryLabels (issue 18 finding 6): the table's means divide by
// trajectories, so they say "/trajectory"; "tokens/problem" over k samples
// read k times too small a cost per problem.
func TestPerTrajectoryLabels(t *testing.T) {
	in, _ := buildInput(t)
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{"<th>tokens/trajectory</th>", "<th>tool calls/trajectory</th>", "<th>hints/trajectory</th>", "completion tokens per trajectory"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "/problem") || strings.Contains(html, "per problem") {
		t.Error("report labels a per-trajectory mean per problem")
	}
}
