package fleet

import (
	"context"
	"log/slog"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/worker"
)

// RunReplica runs one coordinator replica until ctx ends: it reaches the
// cluster through a (as the coordinator's NATS user), joins the data
// directory its replicas share (a.DataDir; a process of another fleet
// owning it is an error before anything is written there), and campaigns,
// leads or stands by while serving the API. log nil discards.
func RunReplica(ctx context.Context, a cluster.Access, r Replica, log *slog.Logger) error {
	log = orDiscard(log)
	data, err := a.DataDir()
	if err != nil {
		return err
	}
	a.Role = cluster.NATSCoordinatorUser
	ccfg, found, err := a.Resolve()
	if err != nil {
		return err
	}
	r.Security.DefaultTokens = found.Endpoints.APITokenFile
	conn, err := cluster.Connect(ctx, ccfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	lock, err := cluster.JoinData(ctx, data, conn.Etcd)
	if err != nil {
		return err
	}
	defer lock.Close()
	srv, err := r.listen(conn, data, log)
	if err != nil {
		return err
	}
	log.Info("coordinator replica up", "api", srv.URL)
	return worker.RunAll(ctx, conn, nil, []func(context.Context) error{srv.Run})
}

// RunWorker runs one worker until ctx ends (worker.Run: re-registered
// after a lost lease, drained when ctx ends): it resolves how to reach the
// cluster (as the worker's NATS user) before opening the node, so that a
// wrong --data fails before engines are dialled, then connects. log nil
// discards.
func RunWorker(ctx context.Context, a cluster.Access, w Workers, log *slog.Logger) error {
	log = orDiscard(log)
	a.Role = cluster.NATSWorkerUser
	ccfg, err := a.Config()
	if err != nil {
		return err
	}
	node, err := w.open(ctx, log)
	if err != nil {
		return err
	}
	defer node.Close()
	conn, err := cluster.Connect(ctx, ccfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	id := w.Config.ID
	if id == "" {
		id = worker.DefaultID()
	}
	log.Info("worker up", "worker", id, "model", node.Model, "engines", engine.RedactURLs(w.Node.Engines), "concurrency", w.Config.Concurrency)
	return worker.Run(ctx, conn, node.Configs(w.Config, id)[0], worker.WithLogger(log))
}
