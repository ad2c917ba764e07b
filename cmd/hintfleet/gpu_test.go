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

// TestEngineGPUsFlag: one --engine-gpus per --engine, each parsed as
// CUDA_VISIBLE_DEVICES; $CUDA_VISIBLE_DEVICES is the default.
func TestEngineGPUsFlag(t *testing.T) {
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
			t.Setenv("CUDA_VISIBLE_DEVICES", tc.env)
			f := workerFlags{engines: tc.engines, engineGPUs: tc.gpus}
			got, err := f.gpuLists()
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
