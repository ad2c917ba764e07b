package hint

import (
	"strings"
	"testing"
)

// TestCheckExplicit: flags set to what a Spec reads as unset are refused;
// an explicit --max-tool-calls 0 becomes -1 (no tool calls); flags not set
// are not checked.
func TestCheckExplicit(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	s := Spec{MaxTokens: 0, MaxToolCalls: -2, TopP: 0, Policy: Policy{K: 0}}
	err := s.CheckExplicit(all)
	for _, want := range []string{"--max-tokens 0", "--max-tool-calls -2", "--top-p 0", "--trigger-k 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckExplicit = %v, want it to name %q", err, want)
		}
	}
	if err := s.CheckExplicit(none); err != nil {
		t.Errorf("nothing set: %v", err)
	}
	zero := Spec{MaxTokens: 10, TopP: 1, Policy: Policy{K: 1}}
	if err := zero.CheckExplicit(all); err != nil || zero.MaxToolCalls != -1 {
		t.Errorf("--max-tool-calls 0: %v, MaxToolCalls %d; want -1", err, zero.MaxToolCalls)
	}
}
