package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultLeaseTTL is the worker lease TTL. A dead worker's tasks are requeued
// within this plus about a second, so it trades requeue latency against
// false expiry during a GC pause or a short partition.
const DefaultLeaseTTL = 10 * time.Second

// revokeTimeout bounds Close's revoke: a slow etcd must not hold up shutdown;
// the lease then expires by TTL instead.
const revokeTimeout = 2 * time.Second

// Lease is one etcd lease kept alive by one goroutine, in the manner of etcd's
// concurrency.Session. A worker holds one for its life: its registration and
// all its claims are bound to it, so when the process dies, is partitioned or
// stalls past the TTL, etcd deletes them together and the scheduler requeues.
//
// Done is closed when the lease is lost or the Lease is closed; Err then says
// which. A Lease is safe for concurrent use.
type Lease struct {
	cli *clientv3.Client
	id  clientv3.LeaseID
	ttl time.Duration
	log *slog.Logger

	cancel context.CancelFunc
	donec  chan struct{} // closed when the keep-alive goroutine has exited
	mu     sync.Mutex
	err    error
	once   sync.Once
}

// LeaseOption tunes NewLease.
type LeaseOption func(*leaseOptions) error

type leaseOptions struct {
	ttl time.Duration
	log *slog.Logger
}

// WithLeaseTTL sets the TTL; etcd counts whole seconds, so it must be at
// least one second. (Unlike etcd's WithTTL, a bad value is an error.)
func WithLeaseTTL(d time.Duration) LeaseOption {
	return func(o *leaseOptions) error {
		if d < time.Second {
			return fmt.Errorf("%w: lease ttl %v: want at least 1s", ErrInvalidConfig, d)
		}
		o.ttl = d
		return nil
	}
}

// WithLeaseLogger sets the logger for lease loss.
func WithLeaseLogger(l *slog.Logger) LeaseOption {
	return func(o *leaseOptions) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidConfig)
		}
		o.log = l
		return nil
	}
}

// NewLease grants a lease and starts keeping it alive. ctx bounds only the
// grant; the keep-alive runs until Close, Orphan or loss.
func NewLease(ctx context.Context, cli *clientv3.Client, opts ...LeaseOption) (*Lease, error) {
	o := leaseOptions{ttl: DefaultLeaseTTL, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	grant, err := cli.Grant(ctx, int64(o.ttl/time.Second))
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	ch, err := cli.KeepAlive(kctx, grant.ID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("keep lease %x alive: %w", grant.ID, err)
	}
	l := &Lease{cli: cli, id: grant.ID, ttl: o.ttl, log: o.log, cancel: cancel, donec: make(chan struct{})}
	go l.keepAlive(kctx, ch)
	return l, nil
}

// keepAlive drains the keep-alive responses. The client closes ch when the
// lease is gone (expired or revoked) or kctx is cancelled; the client itself
// retries through connection loss, so a closed ch with kctx alive means lost.
func (l *Lease) keepAlive(kctx context.Context, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	defer close(l.donec)
	for range ch {
	}
	if kctx.Err() == nil {
		l.setErr(fmt.Errorf("lease %x: %w", l.id, ErrLeaseLost))
		l.log.Warn("lease lost", "lease", fmt.Sprintf("%x", l.id))
	}
}

func (l *Lease) setErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// ID is the etcd lease id, for callers that bind their own keys to it.
func (l *Lease) ID() clientv3.LeaseID { return l.id }

// TTL is the granted TTL.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Done is closed when the lease is lost or the Lease was closed or orphaned.
// A worker selects on it to stop in-flight work: its claims are gone.
func (l *Lease) Done() <-chan struct{} { return l.donec }

// Err is nil while the lease is kept alive. After Done it wraps ErrLeaseLost
// if etcd dropped the lease (expiry, revoke), or context.Canceled if this
// process closed or orphaned it.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Orphan stops the keep-alive without revoking, and waits for it to stop. The
// lease then expires after its TTL, exactly as if the process had died: use it
// to simulate kill -9 in tests, or to hand keys over to a successor process.
func (l *Lease) Orphan() {
	l.once.Do(func() {
		l.setErr(fmt.Errorf("lease %x orphaned: %w", l.id, context.Canceled))
		l.cancel()
	})
	<-l.donec
}

// Close stops the keep-alive, revokes the lease (deleting every key bound to
// it at once, so the requeuer sees them at once instead of after the TTL) and
// waits for the keep-alive goroutine. ctx bounds the revoke.
func (l *Lease) Close(ctx context.Context) error {
	first := false
	l.once.Do(func() {
		first = true
		l.setErr(fmt.Errorf("lease %x closed: %w", l.id, context.Canceled))
		l.cancel()
	})
	<-l.donec
	if !first {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	if _, err := l.cli.Revoke(rctx, l.id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("revoke lease %x: %w", l.id, err)
	}
	return nil
}
