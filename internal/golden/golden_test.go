package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records whether it failed; Fatal ends the
// calling goroutine, as the real one does.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                   { r.TB.Helper() }
func (r *recorder) Errorf(string, ...any)     { r.failed = true }
func (r *recorder) Fatal(...any)              { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.Fatal(fmt.Sprintf(f, a...)) }

// TestCheck runs Check in a temporary folder: a match passes, a difference
// and a missing file fail, and -update writes the file (folders included).
func TestCheck(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "a.golden"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, got  string
		update, wantFail bool
	}{
		{"match", "a.golden", "one\n", false, false},
		{"differs", "a.golden", "two\n", false, true},
		{"missing", "b.golden", "x\n", false, true},
		{"update writes", "sub/c.golden", "three\n", true, false},
		{"then matches", "sub/c.golden", "three\n", false, false},
	}
	for _, tc := range tests {
		*update = tc.update
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Check(r, tc.file, []byte(tc.got))
		}()
		<-done
		*update = false
		if r.failed != tc.wantFail {
			t.Errorf("%s: failed = %v, want %v", tc.name, r.failed, tc.wantFail)
		}
	}
}
