package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
)

// Timing of Run's own waits.
const (
	// StreamsPoll is how often a worker that started before any coordinator
	// looks again for the streams and bucket the coordinator creates.
	StreamsPoll = 500 * time.Millisecond
	// ReRegisterBackoff spaces the registrations of a worker that keeps
	// losing its lease (etcd down or unreachable), so it does not spin.
	ReRegisterBackoff = time.Second
)

// Run is a worker's whole life as a process runs it: it waits until the
// coordinator has created the streams (so a worker may start first), runs a
// Worker with cfg, and runs a new one under a fresh lease whenever the lease
// is lost (etcd unreachable past the TTL, a stalled process: the old lease's
// claims are gone and its late results would be fenced, so it cannot go on
// under it) or a Worker could not start because the servers did not answer
// (ErrServersUnavailable). When ctx ends, the worker drains (no new pulls;
// in-flight tasks finish within cfg.DrainTimeout, or are checkpointed and
// handed back) and Run returns nil. It returns early only with an error: a bad cfg or
// option (wrapping ErrInvalidConfig) or a Worker that failed for another
// reason than a lost lease or unavailable servers.
//
// conn is shared, not closed. opts apply to every Worker Run starts.
func Run(ctx context.Context, conn *cluster.Conn, cfg Config, opts ...Option) error {
	w, err := New(conn, cfg, opts...) // fail on a bad config before waiting
	if err != nil {
		return err
	}
	// The worker names itself in its own log lines; the lines here name it too.
	log := w.log.With("worker", cfg.ID)
	if err := waitStreams(ctx, conn, log); err != nil {
		return err
	}
	for {
		err := runDraining(ctx, w, log)
		if ctx.Err() != nil {
			return err
		}
		switch {
		case errors.Is(err, cluster.ErrLeaseLost):
			log.Warn("lease lost; registering under a new lease", "err", err)
		case errors.Is(err, ErrServersUnavailable):
			// Seen when a frozen etcd leader's lease ran out between the
			// grant and the registration: the process ended, and its
			// tasks with it, while the servers recovered in seconds.
			log.Warn("servers unavailable; trying again under a new lease", "err", err, "retry_in", ReRegisterBackoff)
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ReRegisterBackoff):
		}
		if w, err = New(conn, cfg, opts...); err != nil {
			return err
		}
	}
}

// runDraining runs w until it returns on its own (lease lost, failure) or
// ctx ends; then it drains w rather than stopping it at once, and returns
// what w.Run returned.
func runDraining(ctx context.Context, w *Worker, log *slog.Logger) error {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- w.Run(runCtx) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("draining")
	// Without a deadline on its ctx, Drain waits at most cfg.DrainTimeout.
	if err := w.Drain(context.WithoutCancel(ctx)); err != nil {
		log.Warn("drain", "err", err)
	}
	return <-errc
}

// waitStreams waits until the TASKS stream and the CHECKPOINTS bucket that
// a coordinator creates exist, polling every StreamsPoll and saying once in
// log that it waits. It returns an error wrapping ctx's cause if ctx ends
// first.
func waitStreams(ctx context.Context, conn *cluster.Conn, log *slog.Logger) error {
	logged := false
	for {
		_, serr := conn.JS.Stream(ctx, cluster.StreamTasks)
		_, kerr := conn.JS.KeyValue(ctx, cluster.BucketCheckpoints)
		if serr == nil && kerr == nil {
			return nil
		}
		if !logged {
			log.Info("waiting for a coordinator to create the streams", "err", errors.Join(serr, kerr))
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for streams: %w", context.Cause(ctx))
		case <-time.After(StreamsPoll):
		}
	}
}
