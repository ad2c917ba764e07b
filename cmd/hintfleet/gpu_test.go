package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// run executes the CLI in-process with args and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestRequireGPU: on a machine without NVIDIA driver (CI) `gpu list` says
// so and succeeds, while --require-gpu makes `gpu list` and `worker` fail
// before they do anything else. With a driver the test has nothing to
// check and skips.
func TestRequireGPU(t *testing.T) {
	out, err := run(t, "gpu", "list")
	if err != nil {
		t.Fatalf("gpu list: %v\n%s", err, out)
	}
	if !strings.Contains(out, "no GPUs found (") {
		t.Skipf("this machine has GPUs:\n%s", out)
	}
	if strings.Contains(out, "libnvidia-ml.so.1 not found") {
		t.Logf("gpu list: %s", out)
	}
	if _, err := run(t, "gpu", "list", "--require-gpu"); err == nil || !strings.Contains(err.Error(), "no GPU available") {
		t.Errorf("gpu list --require-gpu = %v, want a no-GPU error", err)
	}
	_, c := fleettest.StartSim(t, fleettest.Problems(1), nil)
	out, err = run(t, "worker", "--engine", c.BaseURL(), "--require-gpu", "--no-tools", "--etcd", "http://127.0.0.1:1", "--nats", "nats://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "no GPU available") {
		t.Errorf("worker --require-gpu = %v, want a no-GPU error before connecting\n%s", err, out)
	}
}
