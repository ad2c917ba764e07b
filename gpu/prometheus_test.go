//go:build cgo

package gpu

import (
	"fmt"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/promtest"
)

// TestRealPrometheusScrapes runs a real Prometheus against the exporter
// and waits, through Prometheus' query API, until our series arrives with
// dcgm-exporter's labels: the end-to-end check that a stock Prometheus
// parses and stores what we serve.
func TestRealPrometheusScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	bin := promtest.Binary(t)
	_, src := openSim(t, 2, nil, WithSimLoad(StaticLoad{Running: 64, KVUsage: 0.3}))
	c, err := NewCollector(src, WithHostname("node-a"), WithInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := NewExporter(c)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := serveExporter(t, exp)
	promAddr := promtest.Start(t, bin, "hintfleet-gpu", target, time.Second)

	want := map[string]string{
		"__name__": MetricGPUUtil, "gpu": "1", "UUID": "GPU-5151a000-0000-4000-8000-000000000001",
		"device": "nvidia1", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-a", "job": "hintfleet-gpu",
	}
	var last string
	eventually.True(t, 90*time.Second, "Prometheus to store "+MetricGPUUtil, func() bool {
		series, raw, err := promtest.Query(promAddr, MetricGPUUtil)
		last = fmt.Sprintf("%s (err %v)", raw, err)
		for _, s := range series {
			if labelsMatch(s.Metric, want) && s.Value[1] == "63" {
				return true
			}
		}
		return false
	})
	t.Logf("last answer: %s", last)
}

func labelsMatch(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
