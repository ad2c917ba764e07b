package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hintfleet/hintfleet/worker"
)

// TestRunAllServices: with no workers, RunAll holds the services until ctx
// ends and returns nil; a service that fails ends it with that error, and
// the other services are stopped.
func TestRunAllServices(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- worker.RunAll(ctx, nil, nil, []func(context.Context) error{func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		}})
	}()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunAll after cancel = %v, want nil", err)
	}

	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := worker.RunAll(t.Context(), nil, nil, []func(context.Context) error{
		func(context.Context) error { return boom },
		func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil },
	})
	<-stopped
	if !errors.Is(err, boom) {
		t.Errorf("RunAll with a failing service = %v, want boom", err)
	}
}
