package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
	"github.com/hintfleet/hintfleet/plugins/host"
)

// NodeConfig says what the workers of one process run on, as a command
// line gives it: engine URLs, GPUs and tool plugins.
type NodeConfig struct {
	// Engines are the engines' base URLs; at least one. They must serve
	// one model (engine.DialAll).
	Engines []string
	// Model is the model to ask for; empty takes the first engine's.
	Model string
	// EngineOptions apply to every engine client (an API key, say).
	EngineOptions []engine.Option
	// EngineGPUs lists, per engine and in order, the GPUs it runs on as
	// CUDA_VISIBLE_DEVICES writes them; empty gives every engine
	// VisibleDevices (gpu.EngineDeviceLists).
	EngineGPUs     []string
	VisibleDevices string
	// SimulateGPUs > 0 simulates that many GPUs that follow the engines'
	// load; 0 reads the real ones through NVML, if any.
	SimulateGPUs int
	// RequireGPU fails OpenNode when no driver or GPU is found.
	RequireGPU bool
	// Plugins are the tool plugins to start; nil runs no tools.
	Plugins *host.Source
	// Logger hears why there are no GPUs (once); PluginLogger hears the
	// plugins. nil discards.
	Logger       *slog.Logger
	PluginLogger *slog.Logger
}

// Node is what the workers of one process share: dialled engines, the
// GPUs and the tool plugins. Close releases the plugins and GPUs.
type Node struct {
	// Model is the model the engines serve.
	Model      string
	engines    []Engine
	engineGPUs [][]string
	tools      hint.Tool
	gpus       *gpu.Source
	load       *EngineLoad
	plugins    *host.Manager
}

// OpenNode dials the engines (asking the first for its model when none is
// named), opens the GPUs (real through NVML when present, else none, said
// once; or simulated ones whose utilization follows the engines' load) and
// starts the tool plugins, once for every local worker. On an error
// nothing is left running.
func OpenNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if len(cfg.Engines) == 0 {
		return nil, errors.New("no --engine given")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lists, err := gpu.EngineDeviceLists(cfg.EngineGPUs, len(cfg.Engines), cfg.VisibleDevices)
	if err != nil {
		return nil, fmt.Errorf("--engine-gpus: %w", err)
	}
	clients, err := engine.DialAll(ctx, cfg.Engines, cfg.Model, cfg.EngineOptions...)
	if err != nil {
		return nil, err
	}
	n := &Node{Model: clients[0].Model(), engineGPUs: lists, load: NewEngineLoad()}
	for _, c := range clients {
		n.engines = append(n.engines, NewEngine(c, nil))
	}
	n.gpus, err = gpu.Open(ctx, gpu.Options{Simulate: cfg.SimulateGPUs, Load: n.load, RequireGPU: cfg.RequireGPU,
		Logger: log.With("component", "gpu")})
	if err != nil {
		return nil, fmt.Errorf("open gpus: %w", err)
	}
	if cfg.Plugins == nil {
		return n, nil
	}
	plog := cfg.PluginLogger
	if plog == nil {
		plog = slog.New(slog.DiscardHandler)
	}
	if n.plugins, err = cfg.Plugins.Start(ctx, plog); err != nil {
		return nil, errors.Join(err, n.gpus.Close())
	}
	n.tools = &infer.Tools{Router: n.plugins}
	return n, nil
}

// Close stops the plugins and releases the GPUs.
func (n *Node) Close() error {
	var err error
	if n.plugins != nil {
		err = n.plugins.Close()
	}
	return errors.Join(err, n.gpus.Close())
}

// Configs returns one worker Config per id: tmpl with the node's model,
// engines, tools and GPUs filled in. One metrics address serves one
// worker, so with several ids only the first listens on tmpl.MetricsAddr;
// the others take a free port on the same host and advertise it in their
// registration.
func (n *Node) Configs(tmpl Config, ids ...string) []Config {
	cfgs := make([]Config, len(ids))
	for i, id := range ids {
		c := tmpl
		c.ID, c.Model, c.Engines, c.EngineGPUs, c.Tools = id, n.Model, n.engines, n.engineGPUs, n.tools
		c.GPU, c.GPULoad = n.gpus, n.load
		if i > 0 && c.MetricsAddr != "" {
			if h, _, err := net.SplitHostPort(c.MetricsAddr); err == nil {
				c.MetricsAddr = net.JoinHostPort(h, "0")
			}
		}
		cfgs[i] = c
	}
	return cfgs
}

// DefaultID names a worker that was given no id: the host name and the
// pid, unique on the host.
func DefaultID() string {
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid())
}

// LocalIDs names the n workers one process runs: HOST-1 … HOST-n.
func LocalIDs(n int) []string {
	host, _ := os.Hostname()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", host, i+1)
	}
	return ids
}
