package adaptive

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/internal/eventually"
)

func (l *Limiter) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters.Len()
}

func newTestLimiter(t *testing.T, opts ...Option) *Limiter {
	t.Helper()
	l, err := New(append([]Option{WithConfig(testConfig())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAcquireBlocksAtLimitAndFIFO(t *testing.T) {
	l := newTestLimiter(t, WithInitial(2), WithBounds(1, 8))
	ctx := t.Context()
	var releases []func(Outcome)
	for range 2 {
		r, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	order := make(chan int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			r(Outcome{})
		}()
		eventually.True(t, 5*time.Second, "waiter queued", func() bool { return l.waiting() == i+1 })
	}
	if got := l.InFlight(); got != 2 {
		t.Fatalf("InFlight = %d, want 2", got)
	}
	releases[0](Outcome{})
	releases[0](Outcome{}) // a second call does nothing
	wg.Wait()
	close(order)
	var got []int
	for i := range order {
		got = append(got, i)
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("admission order %v, want [0 1]", got)
	}
	releases[1](Outcome{})
	if got := l.InFlight(); got != 0 {
		t.Fatalf("InFlight = %d after all releases, want 0", got)
	}
}

func TestAcquireCancelled(t *testing.T) {
	l := newTestLimiter(t, WithInitial(1), WithBounds(1, 8))
	r, err := l.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx)
		errc <- err
	}()
	eventually.True(t, 5*time.Second, "waiter queued", func() bool { return l.waiting() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	if l.waiting() != 0 {
		t.Fatal("cancelled waiter left in the queue")
	}
	r(Outcome{})
	if l.InFlight() != 0 {
		t.Fatalf("InFlight = %d, want 0", l.InFlight())
	}
}

func TestUpdateGrowthAdmitsWaiters(t *testing.T) {
	l := newTestLimiter(t, WithInitial(1), WithBounds(1, 8))
	r, _ := l.Acquire(t.Context())
	defer r(Outcome{})
	got := make(chan func(Outcome), 1)
	go func() {
		r2, err := l.Acquire(t.Context())
		if err != nil {
			t.Error(err)
		}
		got <- r2
	}()
	eventually.True(t, 5*time.Second, "waiter queued", func() bool { return l.waiting() == 1 })
	tp := l.Update(healthy(1, 0.01), true)
	if tp.Limit != 3 || tp.Reason != ReasonSlowStart {
		t.Fatalf("Update = %+v, want limit 3 by slow start", tp)
	}
	(<-got)(Outcome{})
}

func TestReleaseOutcomesFeedWindow(t *testing.T) {
	l := newTestLimiter(t, WithInitial(4), WithBounds(1, 8))
	outcomes := []Outcome{
		{Tokens: 10},
		{Err: errors.New("boom")},
		{Err: &engine.StatusError{StatusCode: http.StatusServiceUnavailable}},
		{Err: context.Canceled},
	}
	for _, o := range outcomes {
		r, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r(o)
	}
	tp := l.Update(healthy(4, 0.1), true)
	want := Window{Completed: 1, Errors: 2, Overloaded: 1, Tokens: 10, PeakInFlight: 1}
	if tp.Window != want {
		t.Fatalf("window %+v, want %+v", tp.Window, want)
	}
	if tp.Reason != ReasonOverload || tp.Limit != 2 {
		t.Fatalf("decision %s %d, want overload 2", tp.Reason, tp.Limit)
	}
}

// fakeClock hands Run a tick channel the test fires.
type fakeClock struct {
	now   time.Time
	ticks chan time.Time
}

func (c *fakeClock) Now() time.Time                       { return c.now }
func (c *fakeClock) After(time.Duration) <-chan time.Time { return c.ticks }

func TestRunScriptedSignals(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0), ticks: make(chan time.Time)}
	l := newTestLimiter(t, WithClock(clk), WithInitial(8), WithBounds(2, 64))
	script := []Signals{
		healthy(8, 0.1),
		{Running: 16, Waiting: 16, KVUsage: 0.5, GPUUtil: -1},
	}
	// The readings are the script, then a failed scrape, then one that
	// waits for the end: the test's fourth tick is taken only once the
	// third reading's update is done, so cancelling after it loses nothing.
	calls := 0
	src := SignalFunc(func(ctx context.Context) (Signals, error) {
		calls++
		switch {
		case calls <= len(script):
			return script[calls-1], nil
		case calls == len(script)+1:
			return Signals{}, errors.New("scrape failed")
		default:
			<-ctx.Done()
			return Signals{}, ctx.Err()
		}
	})
	// Hold the whole limit so it counts as used.
	var rels []func(Outcome)
	for range 8 {
		r, _ := l.Acquire(t.Context())
		rels = append(rels, r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, src) }()
	for range 4 {
		clk.ticks <- clk.now
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, r := range rels {
		r(Outcome{})
	}
	tr := l.Trace()
	var got []Reason
	for _, p := range tr {
		got = append(got, p.Reason)
	}
	want := []Reason{ReasonSlowStart, ReasonQueue, ReasonNoSignals}
	if len(got) != len(want) {
		t.Fatalf("trace reasons %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("trace reasons %v, want %v", got, want)
		}
	}
	// Slow start triples 8 to 24. The queue reading is smoothed (0 then
	// 16 → 8), so the 8 sessions held are 6.5 more than the engine runs
	// with its target queue; the cut stops at 90% of the 8 of ours it ran
	// (7.2), and a cut never more than halves: 12.
	if tr[0].Limit != 24 || tr[1].Limit != 12 || tr[2].Limit != 12 {
		t.Fatalf("limits %d %d %d, want 24 12 12", tr[0].Limit, tr[1].Limit, tr[2].Limit)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"bounds inverted", []Option{WithBounds(10, 5)}},
		{"nil clock", []Option{WithClock(nil)}},
		{"nil logger", []Option{WithLogger(nil)}},
		{"negative trace", []Option{WithTraceLen(-1)}},
		{"zero interval", []Option{WithInterval(0)}},
		// WithBounds does not move Initial into the bounds: the default
		// initial (8) above them is an error, not a silent clamp.
		{"bounds exclude the default initial", []Option{WithBounds(1, DefaultInitial-1)}},
		{"initial above max", []Option{WithInitial(9), WithBounds(1, 8)}},
		{"initial below min", []Option{WithBounds(16, 64), WithInitial(4)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts...); !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// TestBoundsKeepInitial: bounds that hold Initial leave it where it was set,
// in either order of the options.
func TestBoundsKeepInitial(t *testing.T) {
	for _, opts := range [][]Option{
		{WithBounds(2, 64), WithInitial(5)},
		{WithInitial(5), WithBounds(2, 64)},
	} {
		l, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Limit(); got != 5 {
			t.Errorf("Limit() = %d, want the initial 5", got)
		}
	}
}

func TestRunPool(t *testing.T) {
	l := newTestLimiter(t, WithInitial(3), WithBounds(1, 8))
	var mu sync.Mutex
	peak, cur, ran := 0, 0, 0
	err := RunPool(t.Context(), l, 20, func(_ context.Context, i int) Outcome {
		mu.Lock()
		cur++
		ran++
		peak = max(peak, cur)
		mu.Unlock()
		mu.Lock()
		cur--
		mu.Unlock()
		return Outcome{Tokens: i}
	})
	if err != nil {
		t.Fatal(err)
	}
	if ran != 20 || peak > 3 {
		t.Fatalf("ran %d peak %d, want 20 and <= 3", ran, peak)
	}
}
