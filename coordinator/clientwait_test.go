package coordinator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
)

// TestClientWaitDownloadHealth: Wait follows a job to its end (here a
// cancel, there being no worker), reporting every state read; it ends at
// once for an unknown job and with the ctx's cause when the ctx ends;
// Download writes what the API serves; Health reads /healthz.
func TestClientWaitDownloadHealth(t *testing.T) {
	env := clustertest.Start(t)
	r := startReplica(t, env, t.TempDir(), coordinator.Config{})
	waitLeader(t, r)
	ctx := context.Background()
	h, err := r.client.Health(ctx)
	if err != nil || h["leader"] != true {
		t.Fatalf("Health = %v, %v; want leader true", h, err)
	}
	st, err := r.client.Status(ctx, "http://here")
	if err != nil || st.API != "http://here" || st.Health["leader"] != true || st.HealthErr != nil {
		t.Fatalf("Status = %+v, %v; want the api, a leader's health", st, err)
	}
	if raw, _ := json.Marshal(st); !strings.Contains(string(raw), `"api":"http://here","health":{`) || !strings.Contains(string(raw), `"jobs":`) {
		t.Errorf("Status JSON = %s, want api, health and jobs", raw)
	}
	if _, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "w", Model: testModel, ProblemsJSONL: problemsJSONL(testProblems(2))}); err != nil {
		t.Fatal(err)
	}

	cause := errors.New("gave up")
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(cause)
	if _, err := r.client.Wait(cctx, "w", nil); !errors.Is(err, cause) || !errors.Is(err, coordinator.ErrStoppedWaiting) {
		t.Errorf("Wait on an ended ctx = %v, want ErrStoppedWaiting with its cause", err)
	}
	// Ctrl-C: the error says the job goes on and how to follow or stop it,
	// not "context canceled" (finding 11 of issue 16).
	cctx, stop := context.WithCancel(ctx)
	stop()
	_, err = r.client.Wait(cctx, "w", nil)
	if !errors.Is(err, coordinator.ErrStoppedWaiting) || strings.Contains(err.Error(), "context canceled") ||
		!strings.Contains(err.Error(), "goes on") || !strings.Contains(err.Error(), "hintfleet cancel w") {
		t.Errorf("Wait stopped by Ctrl-C = %v, want it to say the job goes on and how to cancel it", err)
	}
	if _, err := r.client.Wait(ctx, "nope", nil); !errors.Is(err, coordinator.ErrJobNotFound) {
		t.Errorf("Wait for an unknown job = %v, want ErrJobNotFound", err)
	}

	updates := make(chan coordinator.Job, 1000)
	done := make(chan error, 1)
	go func() {
		j, err := r.client.Wait(ctx, "w", func(j coordinator.Job) { updates <- j })
		if err == nil && j.State != coordinator.JobCancelled {
			err = errors.New("ended " + string(j.State))
		}
		done <- err
	}()
	select { // Wait has read the job at least once before the cancel
	case <-updates:
	case <-time.After(waitLimit):
		t.Fatal("Wait reported no state")
	}
	if _, err := r.client.Cancel(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait: %v, want the job cancelled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Wait did not return after the job ended")
	}

	out := filepath.Join(t.TempDir(), "t.jsonl")
	if err := r.client.Download(ctx, "w", out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("Download wrote nothing: %v", err)
	}
	if err := r.client.Download(ctx, "nope", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("Download of an unknown job: nil error")
	}
}

func TestWriteJobs(t *testing.T) {
	j := coordinator.Job{ID: "j1", State: coordinator.JobRunning, Problems: 3,
		Spec:   coordinator.JobSpec{Model: "m", Samples: 2},
		Counts: coordinator.Counts{Tasks: 6, Done: 2, InFlight: 1, Tokens: 99}}
	var b bytes.Buffer
	if err := coordinator.WriteJob(&b, j); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"job            j1", "problems       3 (inline) × 2 samples", "written        2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteJob lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := coordinator.WriteJobs(&b, []coordinator.Job{j}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "j1 ") {
		t.Errorf("WriteJobs = %q, want a header and one row for j1", b.String())
	}
	b.Reset()
	bar := coordinator.NewProgressBar(&b)
	bar.Update(j)
	if !strings.Contains(b.String(), "2/6") || strings.HasSuffix(b.String(), "\n") {
		t.Errorf("bar = %q, want 2/6 on an open line", b.String())
	}
	j.State = coordinator.JobDone
	bar.Update(j)
	if !strings.HasSuffix(b.String(), "\n") {
		t.Errorf("bar after the end = %q, want the line ended", b.String())
	}
}

// TestFollowedText: a followed job's end names its counts, its files under
// the fleet's data and the download; EndErr fails every end but done.
func TestFollowedText(t *testing.T) {
	for _, tc := range []struct {
		name     string
		job      coordinator.Job
		data     string
		out      string
		want     []string
		unwanted string
		endErr   bool
	}{
		{name: "done", job: coordinator.Job{ID: "j1", State: coordinator.JobDone}, data: "/d", out: "t.jsonl",
			want: []string{"job j1 done", "trajectories: /d/jobs/j1/", "downloaded: t.jsonl"}},
		{name: "no data", job: coordinator.Job{ID: "j2", State: coordinator.JobDone},
			want: []string{"job j2 done"}, unwanted: "trajectories:"},
		{name: "cancelled", job: coordinator.Job{ID: "j3", State: coordinator.JobCancelled, Error: "by hand"},
			want: []string{"job j3 cancelled"}, unwanted: "downloaded:", endErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := coordinator.WriteFollowed(&b, tc.job, tc.data, tc.out); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("WriteFollowed = %q, want %q in it", b.String(), w)
				}
			}
			if tc.unwanted != "" && strings.Contains(b.String(), tc.unwanted) {
				t.Errorf("WriteFollowed = %q, want no %q", b.String(), tc.unwanted)
			}
			if err := tc.job.EndErr(); (err != nil) != tc.endErr || (err != nil && !strings.Contains(err.Error(), tc.job.Error)) {
				t.Errorf("EndErr = %v, want an error: %v (naming %q)", err, tc.endErr, tc.job.Error)
			}
		})
	}
}
