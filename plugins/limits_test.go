package plugins

import (
	"strings"
	"testing"
	"time"
)

// TestLimitsOver: set fields replace the base's, zero ones keep it, and
// every negative field is named in one error that leaves the base as it
// was.
func TestLimitsOver(t *testing.T) {
	base := Limits{Timeout: time.Second, MemoryBytes: 1 << 30, OutputBytes: 64, Processes: 8, FileBytes: 16, OpenFiles: 32, TmpfsBytes: 64}
	for _, tc := range []struct {
		name string
		l    Limits
		want Limits
		errs []string
	}{
		{name: "zero keeps the base", want: base},
		{name: "set fields win", l: Limits{Timeout: time.Minute, OpenFiles: 100},
			want: Limits{Timeout: time.Minute, MemoryBytes: 1 << 30, OutputBytes: 64, Processes: 8, FileBytes: 16, OpenFiles: 100, TmpfsBytes: 64}},
		{name: "every negative is named", l: Limits{Timeout: -time.Second, MemoryBytes: -1, TmpfsBytes: -2, Processes: 4},
			want: base, errs: []string{"limit timeout: -1s is negative", "limit memory_bytes: -1 is negative", "limit tmpfs_bytes: -2 is negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.l.Over(base)
			if got != tc.want {
				t.Errorf("Over = %+v, want %+v", got, tc.want)
			}
			if (err != nil) != (len(tc.errs) > 0) {
				t.Fatalf("Over error %v, want %q", err, tc.errs)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not say %q", err, e)
				}
			}
		})
	}
}
