package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// TestSubmitWaitInterrupt: Ctrl-C during submit --wait exits 130 saying
// the job goes on and how to follow or cancel it, without "context
// canceled", and the job does go on (finding 11 of issue 16).
func TestSubmitWaitInterrupt(t *testing.T) {
	env := clustertest.Start(t)
	url, _ := fleettest.StartCoordinator(t, env.Connect(t), t.TempDir(), time.Minute)
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(fleettest.Problems(2)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// stderr is read while submit still writes it.
	var stdout bytes.Buffer
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, []string{"submit", problems, "--api", url, "--model", "m", "--id", "w1", "--wait", "--wait-for-worker"}, &stdout, &stderr)
	}()
	// Interrupt once submit has its answer and waits: the job record can
	// exist while the submit response is still on its way, and an
	// interrupt then is one of the submit, not of the wait.
	eventually.True(t, time.Minute, "submit waiting on job w1", func() bool {
		return strings.Contains(stderr.String(), "job w1: 2 problems")
	})
	cancel()
	select {
	case got := <-code:
		if got != exitInterrupted {
			t.Errorf("exit %d, want %d", got, exitInterrupted)
		}
	case <-time.After(time.Minute):
		t.Fatal("submit --wait did not stop within a minute of the interrupt")
	}
	if e := stderr.String(); !strings.Contains(e, "goes on") || !strings.Contains(e, "hintfleet cancel w1") || strings.Contains(e, "context canceled") {
		t.Errorf("stderr %q: want the job going on and how to cancel it, not \"context canceled\"", e)
	}
	if j := jsonOf[map[string]any](t, cli(t, "status", "w1", "--api", url, "--json")); j["state"] == "cancelled" {
		t.Errorf("job %v: cancelled by the interrupt, want it going on", j)
	}
}
