// Package eventually is the one wait-until for hintfleet's tests: poll a
// condition until it holds, with a deadline, for state that announces no
// event (a metric, an HTTP endpoint, a file, a worker's status). Tests wait
// on events where there are events; where there are none, this poll is the
// wait, never a sleep standing in for a guess at how long something takes.
package eventually

import (
	"testing"
	"time"
)

// Poll intervals: the first check repeats after minEvery, and the interval
// doubles up to maxEvery, so a condition that holds at once costs nothing
// and a long wait does not load the machine (a busy 2-core CI runner).
const (
	minEvery = time.Millisecond
	maxEvery = 50 * time.Millisecond
)

// True polls cond until it returns true. It fails tb, naming what, when
// within passes, or when the test's context ends first.
func True(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	Report(tb, within, what, func() (bool, string) { return cond(), "" })
}

// Report is True for a condition that also says what it saw; the last
// state is printed when the wait fails.
func Report(tb testing.TB, within time.Duration, what string, cond func() (ok bool, state string)) {
	tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	every := minEvery
	for {
		ok, state := cond()
		if ok {
			return
		}
		t := time.NewTimer(every)
		select {
		case <-t.C:
		case <-deadline.C:
			t.Stop()
			if ok, state = cond(); ok {
				return
			}
			tb.Fatalf("%s: not within %v%s", what, within, last(state))
		case <-tb.Context().Done():
			t.Stop()
			tb.Fatalf("%s: the test ended while waiting%s", what, last(state))
		}
		every = min(2*every, maxEvery)
	}
}

func last(state string) string {
	if state == "" {
		return ""
	}
	return " (last: " + state + ")"
}
