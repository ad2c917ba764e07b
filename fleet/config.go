package fleet

import (
	"context"
	"log/slog"
	"os"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/worker"
)

// Environment variables a worker process reads for what its flags leave
// unset.
const (
	// EnvNodeName is the Kubernetes node name (the downward API), the
	// default Hostname label of a worker's GPU series.
	EnvNodeName = "NODE_NAME"
	// EnvVisibleDevices is the GPUs every engine runs on when
	// Node.EngineGPUs does not say (gpu.EngineDeviceLists).
	EnvVisibleDevices = "CUDA_VISIBLE_DEVICES"
)

// Replica is a coordinator replica as its flags give it: where its API
// listens, the coordinator's settings and the API's security. Its
// Config.DataDir is set by Up and RunReplica.
type Replica struct {
	// Listen is the HTTP API's address; port 0 picks one.
	Listen   string
	Config   coordinator.Config
	Security coordinator.Security
}

// listen makes the replica with its job files in dataDir (coordinator.Listen).
func (r Replica) listen(conn *cluster.Conn, dataDir string, log *slog.Logger) (*coordinator.Server, error) {
	cfg := r.Config
	cfg.DataDir = dataDir
	return coordinator.Listen(conn, r.Listen, cfg, r.Security, log, coordinator.WithLogger(log.With("component", "coordinator")))
}

// Workers are the workers of one process as their flags give them: what
// they run on (engines, model, GPUs, plugins) and how (the Config every
// worker starts from).
type Workers struct {
	// Node is the engines, model and GPUs. Its EngineOptions,
	// VisibleDevices, Plugins and loggers are filled in here (resolve).
	Node worker.NodeConfig
	// APIKey is the engines' API key; empty reads it from the
	// environment (engine.KeyOptions).
	APIKey string
	// NoTools runs no tool plugins: code fences stay text. Otherwise
	// Plugins are started once for every local worker.
	NoTools bool
	Plugins host.Source
	// Config is every worker's template; a Hostname left empty is
	// $NODE_NAME's, and ID is RunWorker's worker id (empty:
	// worker.DefaultID).
	Config worker.Config
	// PluginLogger hears the plugins; nil discards.
	PluginLogger *slog.Logger
}

// resolve fills what the flags leave to the environment (getenv): the
// API key, the visible GPUs, the Hostname label; and the plugins unless
// NoTools.
func (w *Workers) resolve(getenv func(string) string, log *slog.Logger) worker.NodeConfig {
	n := w.Node
	n.EngineOptions, n.VisibleDevices = engine.KeyOptions(w.APIKey, getenv), getenv(EnvVisibleDevices)
	n.Logger, n.PluginLogger = log, w.PluginLogger
	if !w.NoTools {
		n.Plugins = &w.Plugins
	}
	if w.Config.Hostname == "" {
		w.Config.Hostname = getenv(EnvNodeName)
	}
	return n
}

// open dials the engines, opens the GPUs and starts the plugins once for
// every worker of this process (worker.OpenNode).
func (w *Workers) open(ctx context.Context, log *slog.Logger) (*worker.Node, error) {
	return worker.OpenNode(ctx, w.resolve(os.Getenv, log))
}

// orDiscard is log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
