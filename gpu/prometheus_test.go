//go:build cgo

package gpu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
)

// TestRealPrometheusScrapes runs a real Prometheus against the exporter
// and waits, through Prometheus' query API, until our series arrives with
// dcgm-exporter's labels: the end-to-end check that a stock Prometheus
// parses and stores what we serve.
func TestRealPrometheusScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian package prometheus; `make deps` installs it)")
	}
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
	promAddr := startPrometheus(t, bin, target)

	want := map[string]string{
		"__name__": MetricGPUUtil, "gpu": "1", "UUID": "GPU-5151a000-0000-4000-8000-000000000001",
		"device": "nvidia1", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-a", "job": "hintfleet-gpu",
	}
	var last string
	eventually.True(t, 90*time.Second, "Prometheus to store "+MetricGPUUtil, func() bool {
		series, raw, err := queryPrometheus(promAddr, MetricGPUUtil)
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

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func queryPrometheus(addr, query string) ([]promSeries, string, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, "", err
	}
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []promSeries `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		return nil, buf.String(), err
	}
	return body.Data.Result, buf.String(), nil
}

func labelsMatch(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// startPrometheus runs Prometheus scraping target every second, with its
// data in a temp dir, and kills it at cleanup. It returns its address.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: hintfleet-gpu
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	return addr
}

// freeAddr reserves a loopback port for a child process. The port is
// released before the child binds it; another process could take it in
// between, which only fails this test loudly.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := netListenConfig.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr).String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
