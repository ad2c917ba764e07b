package eventually_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

// recorder is a testing.TB whose Fatalf records the message and ends the
// calling goroutine, as the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder in its own goroutine (Fatalf ends it) and
// returns what Fatalf said, "" when it was not called.
func run(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

func TestTrue(t *testing.T) {
	tests := []struct {
		name    string
		holdsAt int // cond holds from this call on; 0 never
		within  time.Duration
		want    string // Fatalf message; "" for none
	}{
		{"holds at once", 1, time.Second, ""},
		{"holds after a few polls", 5, time.Minute, ""},
		{"never holds", 0, 20 * time.Millisecond, "the key is gone: not within 20ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got := run(t, func(tb testing.TB) {
				eventually.True(tb, tc.within, "the key is gone", func() bool {
					calls++
					return tc.holdsAt > 0 && calls >= tc.holdsAt
				})
			})
			if got != tc.want {
				t.Errorf("Fatalf %q, want %q", got, tc.want)
			}
			if tc.holdsAt > 0 && calls != tc.holdsAt {
				t.Errorf("cond called %d times, want %d (no call after it held)", calls, tc.holdsAt)
			}
		})
	}
}

func TestReportSaysLastState(t *testing.T) {
	n := 0
	got := run(t, func(tb testing.TB) {
		eventually.Report(tb, 10*time.Millisecond, "3 workers", func() (bool, string) {
			n++
			return false, fmt.Sprintf("%d polls, 2 workers", n)
		})
	})
	if !strings.HasPrefix(got, "3 workers: not within 10ms (last: ") || !strings.HasSuffix(got, " 2 workers)") {
		t.Errorf("Fatalf %q, want the last state", got)
	}
}
