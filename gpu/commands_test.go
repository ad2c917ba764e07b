//go:build cgo

package gpu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestExport: the exporter command announces the bound address (port 0
// works) once it serves, the series are there, and ctx's end stops it
// with no error.
func TestExport(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Export(ctx, ExporterConfig{Options: Options{Simulate: 2}, Listen: "127.0.0.1:0", Interval: time.Second}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no announcement: %v (Export: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain; ends with the pipe
	m := regexp.MustCompile(`^serving GPU metrics on (http://127\.0\.0\.1:\d+/metrics) \(simulated: true\)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("announcement %q, want serving GPU metrics on http://127.0.0.1:PORT/metrics (simulated: true)", line)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "DCGM_FI_DEV_GPU_UTIL") {
		t.Errorf("/metrics has no DCGM_FI_DEV_GPU_UTIL:\n%s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Export after cancel = %v, want nil", err)
	}
}

// TestList: the list command as text and JSON, with and without GPUs; a
// required GPU that is missing is an error.
func TestList(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		asJSON bool
		check  func(out string) error
	}{
		{name: "none as text", check: func(out string) error {
			if !strings.Contains(out, "no GPUs found") {
				return errors.New("no \"no GPUs found\"")
			}
			return nil
		}},
		{name: "two as text", opts: Options{Simulate: 2}, check: func(out string) error {
			if lines := strings.Count(out, "\n"); lines < 3 {
				return errors.New("want a header and two rows")
			}
			return nil
		}},
		{name: "two as JSON", opts: Options{Simulate: 2}, asJSON: true, check: func(out string) error {
			var devs []map[string]any
			if err := json.Unmarshal([]byte(out), &devs); err != nil || len(devs) != 2 {
				return errors.New("want a JSON array of 2 devices")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := List(t.Context(), tc.opts, &buf, tc.asJSON); err != nil {
				t.Fatal(err)
			}
			if err := tc.check(buf.String()); err != nil {
				t.Errorf("%v; got:\n%s", err, buf.String())
			}
		})
	}
}
