package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// ServeNode runs one node of a multi-machine cluster until ctx ends, as
// `hintfleet servers` does: it owns cfg.Dir first (LockData: a second
// process on the same data exits instead of sharing etcd's files), starts
// the node (StartNode) and closes it when ctx ends. Missing credentials
// are reported with how to make them, since that is the usual first-run
// mistake on a new machine.
func ServeNode(ctx context.Context, cfg NodeConfig) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Insecure {
		log.Warn("INSECURE: NATS and etcd accept anyone, and NATS routes are not authenticated (--insecure)")
	}
	if err := os.MkdirAll(cfg.Dir, DataDirMode); err != nil {
		return fmt.Errorf("node data dir: %w", err)
	}
	lock, err := LockData(cfg.Dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	cfg.Log = log.With("component", "cluster")
	node, err := StartNode(ctx, cfg)
	if errors.Is(err, fs.ErrNotExist) && !cfg.GenerateCredentials {
		return fmt.Errorf("%w (make the credentials once with --generate-credentials and copy the folder to every node)", err)
	}
	if err != nil {
		return err
	}
	ep := node.Endpoints()
	log.Info("servers up", "node", cfg.Name, "nats", ep.NATS, "etcd", ep.Etcd, "endpoints", EndpointsPath(ep.Data))
	<-ctx.Done()
	err = node.Close()
	log.Info("servers down", "node", cfg.Name, "err", err)
	return err
}
