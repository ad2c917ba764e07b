package cluster_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

// TestEnsureAPITokens: one admin token, mode 0600, kept across calls (a
// resumed fleet keeps its token).
func TestEnsureAPITokens(t *testing.T) {
	dir := t.TempDir()
	p, err := cluster.EnsureAPITokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(p)
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || !strings.Contains(string(first), "\nadmin ") {
		t.Fatalf("tokens file %s: mode %v, %q", p, st.Mode(), first)
	}
	if p2, err := cluster.EnsureAPITokens(dir); err != nil || p2 != p {
		t.Fatalf("second EnsureAPITokens = %q, %v", p2, err)
	}
	if again, _ := os.ReadFile(p); string(again) != string(first) {
		t.Error("the token changed on the second call")
	}
}
