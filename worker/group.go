package worker

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"

	"github.com/hintfleet/hintfleet/cluster"
)

// RunAll runs a process's workers (each as Run, with opts) beside the
// services that take in their results (a coordinator and its API, say),
// until ctx ends. Then the workers drain first, and only once they have
// returned are the services stopped (their ctx ends), so the results of
// drained tasks are still taken in. A service or worker that fails stops
// the others; RunAll returns every actor's error, joined. With no workers
// it runs the services until ctx ends.
func RunAll(ctx context.Context, conn *cluster.Conn, cfgs []Config, services []func(context.Context) error, opts ...Option) error {
	svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSvc()
	svc, sctx := errgroup.WithContext(svcCtx)
	for _, s := range services {
		svc.Go(func() error { return s(sctx) })
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	unlink := context.AfterFunc(sctx, stopWorkers) // a service failed: drain and stop
	defer unlink()
	ws, wgctx := errgroup.WithContext(wctx)
	ws.Go(func() error { <-wgctx.Done(); return nil }) // hold the group until stop
	for _, cfg := range cfgs {
		ws.Go(func() error { return Run(wgctx, conn, cfg, opts...) })
	}
	werr := ws.Wait()
	stopSvc()
	return errors.Join(werr, svc.Wait())
}
