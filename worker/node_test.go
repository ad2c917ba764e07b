package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/fleettest"
	"github.com/hintfleet/hintfleet/worker"
)

// TestOpenNode: the engines' model becomes the node's; every worker
// config gets the engines and simulated GPUs; only the first of several
// local workers keeps the metrics address, the others take port 0 on its
// host; no engine is an error before anything is dialled.
func TestOpenNode(t *testing.T) {
	_, c := fleettest.StartSim(t, fleettest.Problems(1), nil)
	if _, err := worker.OpenNode(context.Background(), worker.NodeConfig{}); err == nil || !strings.Contains(err.Error(), "no --engine") {
		t.Errorf("OpenNode without engines = %v, want no --engine", err)
	}
	n, err := worker.OpenNode(t.Context(), worker.NodeConfig{Engines: []string{c.BaseURL(), c.BaseURL()}, SimulateGPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Model != fleettest.Model {
		t.Errorf("model %q, want %q", n.Model, fleettest.Model)
	}
	cfgs := n.Configs(worker.Config{Concurrency: 3, MetricsAddr: "127.0.0.1:9100"}, "a", "b")
	for i, want := range []struct{ id, metrics string }{{"a", "127.0.0.1:9100"}, {"b", "127.0.0.1:0"}} {
		c := cfgs[i]
		if c.ID != want.id || c.MetricsAddr != want.metrics || c.Model != fleettest.Model || len(c.Engines) != 2 ||
			c.GPU == nil || c.GPULoad == nil || c.Concurrency != 3 || c.Tools != nil {
			t.Errorf("config %d = id %q metrics %q model %q engines %d gpu %v concurrency %d tools %v; want %s %s",
				i, c.ID, c.MetricsAddr, c.Model, len(c.Engines), c.GPU != nil, c.Concurrency, c.Tools, want.id, want.metrics)
		}
	}
}

// TestOpenNodeEngineGPUs: one --engine-gpus list per --engine, each
// parsed as CUDA_VISIBLE_DEVICES; $CUDA_VISIBLE_DEVICES is the default.
func TestOpenNodeEngineGPUs(t *testing.T) {
	_, c := fleettest.StartSim(t, fleettest.Problems(1), nil)
	url := c.BaseURL()
	for _, tc := range []struct {
		name    string
		engines []string
		gpus    []string
		env     string
		want    string
		bad     bool
	}{
		{name: "one per engine", engines: []string{"a", "b"}, gpus: []string{"0,1", "GPU-x"}, want: "[[0 1] [GPU-x]]"},
		{name: "count mismatch", engines: []string{"a", "b"}, gpus: []string{"0"}, bad: true},
		{name: "bad entry", engines: []string{"a"}, gpus: []string{"0,,1"}, bad: true},
		{name: "env default", engines: []string{"a", "b"}, env: "2,3", want: "[[2 3] [2 3]]"},
		{name: "none", engines: []string{"a"}, want: "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engines := make([]string, len(tc.engines))
			for i := range engines {
				engines[i] = url
			}
			n, err := worker.OpenNode(t.Context(), worker.NodeConfig{Engines: engines, EngineGPUs: tc.gpus,
				VisibleDevices: tc.env, SimulateGPUs: 1})
			var got [][]string
			if err == nil {
				got = n.Configs(worker.Config{}, "w")[0].EngineGPUs
				n.Close()
			}
			if tc.bad {
				if err == nil {
					t.Errorf("gpuLists = %v, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.ReplaceAll(strings.TrimSpace(fmtLists(got)), "  ", " "); s != tc.want {
				t.Errorf("gpuLists = %s, want %s", s, tc.want)
			}
		})
	}
}

func fmtLists(l [][]string) string {
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = "[" + strings.Join(x, " ") + "]"
	}
	return "[" + strings.Join(parts, " ") + "]"
}
