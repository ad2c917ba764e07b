package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/worker"
)

// UpConfig is one `hintfleet up` as its flags give it.
type UpConfig struct {
	// Data is the data directory: cluster state, job files and
	// endpoints.json. Required.
	Data string
	// Workers is how many local workers run (0: servers and coordinator
	// only).
	Workers int
	// Coordinator runs a coordinator replica here (Replica); false runs
	// the servers and workers only.
	Coordinator bool
	// Cluster is how the embedded servers run; its Insecure and Logger
	// come from Replica.Security and Logger.
	Cluster cluster.UpConfig
	Replica Replica
	Worker  Workers
	// Logger hears the servers, the coordinator and the workers; nil
	// discards.
	Logger *slog.Logger
}

// Up runs a whole fleet in one process until ctx ends: it owns Data
// (cluster.OpenUpData) before touching anything in it, so that a second up
// on it exits at once instead of hanging on etcd's database or removing
// the running fleet's endpoints.json; opens the workers' node (engines,
// GPUs, plugins) before starting the servers, so that a bad --engine
// fails fast; starts embedded etcd and NATS, the coordinator and the
// workers; and writes endpoints.json only once all of them accept work,
// removing it on the way out. When ctx ends the workers drain first and
// the coordinator and servers stop after them (worker.RunAll).
func Up(ctx context.Context, cfg UpConfig) error {
	log := orDiscard(cfg.Logger)
	if cfg.Data == "" {
		return errors.New("--data DIR is required")
	}
	if cfg.Workers < 0 {
		return fmt.Errorf("--workers %d: want >= 0", cfg.Workers)
	}
	dir, err := cluster.OpenUpData(cfg.Data)
	if err != nil {
		return err
	}
	defer dir.Close()
	var wnode *worker.Node
	if cfg.Workers > 0 {
		if wnode, err = cfg.Worker.open(ctx, log); err != nil {
			return err
		}
		defer wnode.Close()
	}
	uc := cfg.Cluster
	uc.Insecure, uc.Logger = cfg.Replica.Security.Insecure, log
	node, ep, err := dir.Start(ctx, uc)
	if err != nil {
		return err
	}
	defer node.Close()
	rep := cfg.Replica
	rep.Security.DefaultTokens = ep.APITokenFile
	var services []func(context.Context) error
	if cfg.Coordinator {
		srv, err := rep.listen(node.Conn, ep.Data, log)
		if err != nil {
			return err
		}
		ep.API = srv.URL
		services = append(services, srv.Run)
	}
	var cfgs []worker.Config
	if wnode != nil {
		ep.Model = wnode.Model
		cfgs = wnode.Configs(cfg.Worker.Config, worker.LocalIDs(cfg.Workers)...)
	}
	if err := cluster.WriteEndpoints(ep.Data, ep); err != nil {
		return err
	}
	defer cluster.RemoveEndpoints(ep.Data) //nolint:errcheck // best effort on the way out
	log.Info("fleet up", "api", ep.API, "nats", ep.NATS, "etcd", ep.Etcd, "workers", cfg.Workers, "model", ep.Model, "endpoints", cluster.EndpointsPath(ep.Data))
	err = worker.RunAll(ctx, node.Conn, cfgs, services, worker.WithLogger(log.With("component", "worker")))
	log.Info("fleet down", "err", err)
	return err
}
