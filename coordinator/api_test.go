package coordinator_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/protocol"
	"github.com/hintfleet/hintfleet/trajectory"
)

func TestDecodeSpec(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // substrings of the error; nil: valid
	}{
		{"valid", `{"model":"m","dataset":"math500","samples":4}`, nil},
		{"unknown field", "{\n  \"model\": \"m\",\n  \"sampels\": 4\n}", []string{`job spec:3: field "sampels": unknown field`}},
		{"wrong type", "{\"model\": \"m\",\n\"samples\": \"four\"}", []string{`job spec:2: field "samples": want integer, got string`}},
		{"nested wrong type", `{"model":"m","dataset":"math500","hint":{"max_tokens":"x"}}`, []string{`field "hint.max_tokens"`}},
		{"syntax", "{\"model\": \"m\",\n\n  oops}", []string{"job spec:3:"}},
		{"trailing", `{"model":"m","dataset":"math500"} {}`, []string{"trailing data"}},
		{"two sources", `{"model":"m","dataset":"math500","problems_path":"/x"}`, []string{`field "dataset": give exactly one`}},
		{"bad id and samples", `{"id":"a/b","model":"m","dataset":"math500","samples":-1}`, []string{`field "id"`, `field "samples"`}},
		{"bad hint policy", `{"model":"m","dataset":"math500","hint":{"policy":{"mode":"first"}}}`, []string{`"policy.k"`}},
		{"bad template", `{"model":"m","dataset":"math500","hint":{"template":"nope"}}`, []string{`field "template"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := coordinator.DecodeSpec([]byte(tt.body))
			if err == nil {
				err = s.Validate()
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, coordinator.ErrInvalidSpec) {
				t.Fatalf("got %v, want ErrInvalidSpec", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestRefusals: a bad spec and a bad problems upload are refused with
// line and field, and nothing is created or touched; a result message that
// does not parse is dead-lettered with the reason.
func TestRefusals(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	ctx := context.Background()
	ps := testProblems(3)
	// A running job (no workers, so its tasks wait) that must stay as is.
	if _, err := r.client.Submit(ctx, coordinator.JobSpec{ID: "keep", Model: testModel, ProblemsJSONL: problemsJSONL(ps)}); err != nil {
		t.Fatal(err)
	}
	before, err := r.client.Get(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, body, want string
	}{
		{"unknown field", "{\"id\":\"bad1\",\n\"model\":\"m\",\n\"problem_path\":\"x\"}", `job spec:3: field "problem_path": unknown field`},
		{"bad upload line", `{"id":"bad2","model":"m","problems_jsonl":"{\"id\":\"a\",\"question\":\"q1\",\"answer\":\"1\"}\n{\"id\":\"b\",\"question\":\"q2\",\"answer\":\"2\"}\n{\"id\":\"c\",\"answer\":\"3\"}\n"}`, `problems_jsonl:3: field "`},
		{"duplicate id in upload", `{"id":"bad3","model":"m","problems_jsonl":"{\"id\":\"a\",\"question\":\"q1\",\"answer\":\"1\"}\n{\"id\":\"a\",\"question\":\"q2\",\"answer\":\"2\"}\n"}`, `problems_jsonl:2`},
		{"existing id", `{"id":"keep","model":"m","problems_jsonl":"{\"id\":\"a\",\"question\":\"q1\",\"answer\":\"1\"}\n"}`, `job exists`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, err := submitRaw(t, r.srv.URL, tt.body)
			if err == nil {
				t.Fatalf("accepted: %s", body)
			}
			if !strings.Contains(body, tt.want) {
				t.Fatalf("answer %s, want it to contain %q", body, tt.want)
			}
		})
	}
	for _, id := range []string{"bad1", "bad2", "bad3"} {
		if _, err := r.client.Get(ctx, id); !errors.Is(err, coordinator.ErrJobNotFound) {
			t.Errorf("job %s: %v, want not found", id, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "jobs", id)); !os.IsNotExist(err) {
			t.Errorf("job %s left a folder: %v", id, err)
		}
	}
	after, err := r.client.Get(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if after.Spec.ID != before.Spec.ID || after.Counts.Tasks != before.Counts.Tasks || after.State.Terminal() {
		t.Fatalf("running job touched: before %+v after %+v", before, after)
	}

	// A result that does not parse, attributed by its headers, and one of a
	// major protocol version this build does not speak: both dead-lettered
	// with the reason, neither written.
	bad := []struct{ task, body, want string }{
		{trajectory.TaskID("keep", ps[0].ID, 0), `{"job_id":"keep","task_id":` + "\x00garbage", "result does not parse"},
		{trajectory.TaskID("keep", ps[1].ID, 0), `{"v":2,"job_id":"keep","task_id":"` + trajectory.TaskID("keep", ps[1].ID, 0) + `","outcome":{}}`,
			"result refused: result message: unsupported protocol version 2"},
	}
	for _, b := range bad {
		m := nats.NewMsg(cluster.ResultSubject("keep"))
		m.Data = []byte(b.body)
		m.Header.Set(protocol.HeaderJob, "keep")
		m.Header.Set(protocol.HeaderTask, b.task)
		if _, err := env.Conn.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var dl string
	eventually.True(t, waitLimit, "the bad results are dead-lettered", func() bool {
		rc, err := r.client.DeadLetters(ctx, "keep")
		if err != nil {
			return false
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		dl = string(b)
		return strings.Count(dl, "\n") >= len(bad)
	})
	for _, b := range bad {
		if !strings.Contains(dl, b.task) || !strings.Contains(dl, b.want) {
			t.Errorf("dead letters %s, want %s with %q", dl, b.task, b.want)
		}
	}
	j, err := r.client.Get(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if j.Counts.DeadLettered != len(bad) || j.Counts.Done != 0 || j.State.Terminal() {
		t.Fatalf("job after the bad results: %s %+v", j.State, j.Counts)
	}

	// Cancel purges what waits and marks the job.
	c, err := r.client.Cancel(ctx, "keep")
	if err != nil || c.State != coordinator.JobCancelled {
		t.Fatalf("cancel: %v %s", err, c.State)
	}
	st, err := env.Conn.JS.Stream(ctx, cluster.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%d tasks left in TASKS after cancel", info.State.Msgs)
	}
	list, err := r.client.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "keep" {
		t.Fatalf("list: %v %+v", err, list)
	}
}
