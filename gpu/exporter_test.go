//go:build cgo

package gpu

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunExporterListening: the exporter says it serves only once its port
// is open (with the bound address, so port 0 works), and not at all when
// the address is busy: before, "serving …" came first and the bind
// failure after.
func TestRunExporterListening(t *testing.T) {
	_, src := openSim(t, 1, nil)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	called := false
	err = RunExporter(t.Context(), src, busy.Addr().String(), time.Second, "", func(net.Addr) { called = true })
	if err == nil || called {
		t.Errorf("busy address: err %v, listening called %v; want an error and no call", err, called)
	}

	ctx, cancel := context.WithCancel(t.Context())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunExporter(ctx, src, "127.0.0.1:0", time.Second, "node-a", func(a net.Addr) { addrs <- a })
	}()
	var a net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("RunExporter: %v", err)
	}
	resp, err := http.Get("http://" + a.String() + "/healthz")
	if err != nil {
		t.Fatalf("not serving once listening was said: %v", err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunExporter after cancel = %v, want nil", err)
	}
}

// TestWriteListJSON: gpu list --json is an array of devices (empty, not
// null, without GPUs).
func TestWriteListJSON(t *testing.T) {
	for _, n := range []int{0, 2} {
		src, err := Open(t.Context(), Options{Simulate: n})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := src.WriteList(t.Context(), &buf, DefaultThresholds(), true); err != nil {
			t.Fatal(err)
		}
		src.Close()
		var devs []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &devs); err != nil || devs == nil || len(devs) != n {
			t.Errorf("%d GPUs: %v, %q", n, err, strings.TrimSpace(buf.String()))
		}
	}
}
