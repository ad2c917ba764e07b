// Package promtest runs a real Prometheus server for tests that check, end
// to end, that a stock Prometheus scrapes and stores what hintfleet serves
// (the GPU exporter's DCGM series, a worker's hintfleet_ series), and asks
// it through its query API. It is imported only by tests.
package promtest

import (
	"bytes"
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
)

// Binary returns the path of the prometheus binary. Without one the test
// is skipped, except under CI (CI set), where `make deps` installs Debian's
// prometheus and its absence is a failure.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("prometheus missing in CI (Debian package prometheus; make deps installs it)")
		}
		tb.Skip("prometheus not installed (Debian package prometheus; make deps installs it)")
	}
	return bin
}

// Start runs Prometheus (bin) scraping target (host:port) every interval
// under the job name job, with its data in a temp dir, and kills it when
// the test ends, printing its output if the test failed. It returns the
// address of its HTTP API.
func Start(tb testing.TB, bin, job, target string, every time.Duration) string {
	tb.Helper()
	dir := tb.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n  - job_name: %s\n    static_configs:\n      - targets: [%q]\n",
		every, every, job, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	// A loopback port for the child: released before the child binds it;
	// another process taking it in between only fails the test loudly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // waited for at cleanup
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("prometheus output:\n%s", logs.String())
		}
	})
	return addr
}

// Series is one result of an instant query.
type Series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [time, "value"]
}

// Query runs an instant query against the Prometheus at addr. It also
// returns the raw answer, for a test's log when the wait fails.
func Query(addr, query string) ([]Series, string, error) {
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
		Data struct {
			Result []Series `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		return nil, buf.String(), err
	}
	return body.Data.Result, buf.String(), nil
}
