//go:build cgo

package gpu

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

var netListenConfig net.ListenConfig

// fakeClock is the simulator's clock in tests: time moves only on Advance,
// so lagged values are exact.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openSim builds n simulated GPUs on clock and opens them; both are closed
// at cleanup.
func openSim(t testing.TB, n int, clock *fakeClock, opts ...SimOption) (*Simulator, *Source) {
	t.Helper()
	if clock != nil {
		opts = append(opts, WithSimClock(clock.Now))
	}
	sim, err := NewSimulator(n, opts...)
	if err != nil {
		t.Fatalf("NewSimulator(%d): %v", n, err)
	}
	src, err := sim.Open(context.Background(), nil)
	if err != nil {
		t.Fatalf("open simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("close source: %v", err)
		}
	})
	return sim, src
}

func snapshot(t testing.TB, b Backend) []Device {
	t.Helper()
	devs, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return devs
}
