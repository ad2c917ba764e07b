// Package golden compares test output with golden files in the calling
// package's testdata/, and rewrites them when the tests run with -update
// (go test ./pkg/ -run TestX -update), as go/printer's tests do. Review the
// diff of a rewrite before committing it.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (review the diff)")

// Check compares got with testdata/name. Under -update it writes got there
// first, so the comparison passes and the diff shows in version control.
func Check(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run go test -run '%s' -update to create it): %v", tb.Name(), err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (if the change is intended, rerun with -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
