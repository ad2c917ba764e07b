package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOnlyBindsFrom: the paths a finder returns are bound (a command
// reads a file there that it cannot read without them), the finder is
// asked once and never by an insecure sandbox, and its error or a bad
// path is New's error.
func TestReadOnlyBindsFrom(t *testing.T) {
	here, err := os.Getwd() // this package's source: outside every default bind
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(here, "doc.go")
	calls := 0
	finder := func(paths ...string) func(context.Context) ([]string, error) {
		return func(context.Context) ([]string, error) { calls++; return paths, nil }
	}

	if _, err := New(testCtx(t), WithInsecureNoSandbox(), WithReadOnlyBindsFrom(finder(here))); err != nil || calls != 0 {
		t.Errorf("insecure New = %v after %d finder calls, want nil and none", err, calls)
	}
	if _, err := New(testCtx(t), WithReadOnlyBindsFrom(nil)); err == nil || !strings.Contains(err.Error(), "nil func") {
		t.Errorf("nil finder: %v, want an option error", err)
	}

	requireBwrap(t)
	broke := errors.New("probe broke")
	for _, tc := range []struct {
		name string
		find func(context.Context) ([]string, error)
		is   error
		want string
	}{
		{name: "finder fails", find: func(context.Context) ([]string, error) { return nil, broke }, is: broke},
		{name: "relative path", find: finder("usr"), want: "absolute"},
		{name: "missing path", find: finder("/no/such/dir"), want: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testCtx(t), WithLogger(testLogger()), WithReadOnlyBindsFrom(tc.find))
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error (%v %q)", err, tc.is, tc.want)
			}
		})
	}

	if r := run(t, newSandbox(t), "/bin/cat", file); r.err == nil {
		t.Fatalf("cat %s without the bind: %+v, want a failure", file, r)
	}
	calls = 0
	r := run(t, newSandbox(t, WithReadOnlyBindsFrom(finder(here))), "/bin/cat", file)
	if r.err != nil || !strings.Contains(r.stdout, "package sandbox") || calls != 1 {
		t.Errorf("cat %s with the bind: %+v after %d finder calls, want the file, one call", file, r, calls)
	}
}
