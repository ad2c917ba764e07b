//go:build cgo

package gpu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/golden"
)

// goldenFixture is a deterministic two-GPU node: GPU 0 serves at a quarter
// of max seqs for ten simulated minutes, GPU 1 is idle with an XID and
// ECC errors.
func goldenFixture(t *testing.T) *Collector {
	t.Helper()
	clock := newFakeClock()
	sim, src := openSim(t, 2, clock)
	if err := sim.SetLoad(0, StaticLoad{Running: 64, KVUsage: 0.5, TokensPerSec: 2400}); err != nil {
		t.Fatal(err)
	}
	snapshot(t, src)
	clock.Advance(10 * time.Minute)
	if err := sim.InjectXID(1, 79); err != nil {
		t.Fatal(err)
	}
	if err := sim.InjectECC(1, 3, 1); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 5*time.Second, "xid event", func() bool { return snapshot(t, src)[1].XIDCount == 1 })
	c, err := NewCollector(src, WithHostname("node-a"))
	if err != nil {
		t.Fatalf("NewCollector: %v", err)
	}
	if err := c.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return c
}

func scrape(t *testing.T, h http.Handler) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func TestMetricsGolden(t *testing.T) {
	exp, err := NewExporter(goldenFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "metrics.golden", scrape(t, exp.Handler()))
}

// dcgmLint are promtool's complaints about names dcgm-exporter chose and
// we keep for compatibility: counters without a lowercase _total suffix,
// and camelCase labels (modelName). Anything else promtool says fails.
var dcgmLint = []string{
	`counter metrics should have "_total" suffix`,
	`label names should be written in 'snake_case' not 'camelCase'`,
}

func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; `make deps` installs it)")
	}
	exp, err := NewExporter(goldenFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape(t, exp.Handler()))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3: // lint problems only
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !containsAny(line, dcgmLint) {
				t.Errorf("promtool: %s", line)
			}
		}
	default:
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestListDevicesGolden(t *testing.T) {
	c := goldenFixture(t)
	var buf bytes.Buffer
	if err := ListDevices(context.Background(), &buf, c.backend, DefaultThresholds()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "list.golden", buf.Bytes())

	buf.Reset()
	empty, err := Open(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := ListDevices(context.Background(), &buf, empty, DefaultThresholds()); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "no GPUs found\n" {
		t.Errorf("empty list = %q", got)
	}
}

func TestCollectorOptions(t *testing.T) {
	_, src := openSim(t, 1, nil)
	tests := []struct {
		name string
		opts []Option
	}{
		{"zero interval", []Option{WithInterval(0)}},
		{"empty hostname", []Option{WithHostname("")}},
		{"nil logger", []Option{WithLogger(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCollector(src, tt.opts...); err == nil {
				t.Error("want error")
			}
		})
	}
	if _, err := NewCollector(nil); err == nil {
		t.Error("nil backend: want error")
	}
}

// TestExporterServe runs the poll loop and server over a real listener and
// stops them through ctx.
func TestExporterServe(t *testing.T) {
	_, src := openSim(t, 2, nil, WithSimLoad(StaticLoad{Running: 32}))
	c, err := NewCollector(src, WithHostname("node-a"), WithInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := NewExporter(c)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveExporter(t, exp)
	var body string
	eventually.True(t, 10*time.Second, "series on /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, `DCGM_FI_DEV_GPU_UTIL{GPU_I_ID="",GPU_I_PROFILE="",Hostname="node-a",UUID="GPU-5151a000-0000-4000-8000-000000000001"`)
	})
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// serveExporter serves exp on a loopback port; stop cancels and returns
// Serve's error. Cleanup stops it if the test did not.
func serveExporter(t testing.TB, exp *Exporter) (addr string, stop func() error) {
	t.Helper()
	ln, err := (&netListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- exp.Serve(ctx, ln) }()
	var stopped bool
	var result error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), stop
}
