package scheduler

import (
	"context"
	"fmt"
	"sync"
)

// Planner carries out the scheduler's decisions; the scheduler itself does
// no NATS I/O. The coordinator implements it: Redeliver publishes the task's
// next attempt to the pool's shared subject with Nats-Msg-Id
// cluster.TaskMsgID(task, attempt) and terminates the old delivery through
// Claim.AckSubject; DeadLetter records the task with its reason; WorkerGone
// moves the tasks waiting on a dead worker's own subject to the shared one.
// Every method must be idempotent: after a crash or a leadership change the
// same decision may be carried out twice.
type Planner interface {
	Redeliver(ctx context.Context, d Decision) error
	DeadLetter(ctx context.Context, d Decision) error
	WorkerGone(ctx context.Context, worker string) error
}

// Harness is a Planner that records what it is asked to do, like Nomad's
// scheduler Harness, so decisions are tested without a coordinator. Safe for
// concurrent use.
type Harness struct {
	mu        sync.Mutex
	decisions []Decision
	gone      []string
	changed   chan struct{}
}

// NewHarness returns an empty Harness.
func NewHarness() *Harness { return &Harness{changed: make(chan struct{})} }

func (h *Harness) record(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
	close(h.changed)
	h.changed = make(chan struct{})
}

// Redeliver records d.
func (h *Harness) Redeliver(_ context.Context, d Decision) error {
	h.record(func() { h.decisions = append(h.decisions, d) })
	return nil
}

// DeadLetter records d.
func (h *Harness) DeadLetter(_ context.Context, d Decision) error {
	h.record(func() { h.decisions = append(h.decisions, d) })
	return nil
}

// WorkerGone records worker.
func (h *Harness) WorkerGone(_ context.Context, worker string) error {
	h.record(func() { h.gone = append(h.gone, worker) })
	return nil
}

// Decisions returns a copy of the decisions so far.
func (h *Harness) Decisions() []Decision {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Decision(nil), h.decisions...)
}

// Gone returns the workers reported gone so far.
func (h *Harness) Gone() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.gone...)
}

// WaitFor blocks until cond holds on the recorded state or ctx ends; tests
// use it instead of sleeping.
func (h *Harness) WaitFor(ctx context.Context, cond func(decisions []Decision, gone []string) bool) error {
	for {
		h.mu.Lock()
		ok := cond(h.decisions, h.gone)
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for harness: %w", context.Cause(ctx))
		}
	}
}

// MemLedger is a Ledger in memory, with the compare-and-swap semantics of
// the coordinator's etcd one, so Requeuer decisions are tested without etcd.
// Safe for concurrent use. The zero value is not usable; use NewMemLedger.
type MemLedger struct {
	mu       sync.Mutex
	attempts map[string]memAttempt
	done     map[string]bool
	version  int64
}

type memAttempt struct {
	attempt int
	version int64
}

// NewMemLedger returns an empty MemLedger.
func NewMemLedger() *MemLedger {
	return &MemLedger{attempts: map[string]memAttempt{}, done: map[string]bool{}}
}

// MarkDone records task's result as in.
func (m *MemLedger) MarkDone(task string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[task] = true
}

// Done implements Ledger.
func (m *MemLedger) Done(_ context.Context, task string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done[task], nil
}

// Attempt implements Ledger.
func (m *MemLedger) Attempt(_ context.Context, task string) (int, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.attempts[task]
	return a.attempt, a.version, nil
}

// Record implements Ledger.
func (m *MemLedger) Record(_ context.Context, task string, attempt int, version int64, deadLetter bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.attempts[task].version != version {
		return nil // moved on meanwhile: another requeuer recorded first
	}
	m.version++
	m.attempts[task] = memAttempt{attempt: attempt, version: m.version}
	if deadLetter {
		m.done[task] = true
	}
	return nil
}
