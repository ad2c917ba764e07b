package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/internal/fleettest"
	"github.com/hintfleet/hintfleet/trajectory"
)

// TestFindTheFleet (findings 1, 5 and 12): every command finds a running
// `up` by --data, by --endpoints FILE or DIR and by $HINTFLEET_DATA; a
// wrong source is an error that names it (not "no --model given"); a second
// `up` on the same --data exits at once with "DIR is in use by pid N" and
// leaves the running fleet's endpoints.json alone; a coordinator of another
// fleet is refused the directory the same way.
func TestFindTheFleet(t *testing.T) {
	t.Setenv(cluster.EnvData, "")
	t.Setenv(cluster.EnvAPI, "")
	data := filepath.Join(t.TempDir(), "fleet")
	ep := runUp(t, data)
	before := mustReadEndpoints(t, data)
	inUse := fmt.Sprintf("%s is in use by pid %d", data, os.Getpid())

	for _, tc := range []struct {
		name string
		env  string // $HINTFLEET_DATA
		args []string
	}{
		{"jobs --data", "", []string{"jobs", "--data", data}},
		{"jobs --endpoints FILE", "", []string{"jobs", "--endpoints", cluster.EndpointsPath(data)}},
		{"jobs --endpoints DIR", "", []string{"jobs", "--endpoints", data}},
		{"jobs $HINTFLEET_DATA", data, []string{"jobs"}},
		{"status $HINTFLEET_DATA", data, []string{"status"}},
		{"top --once --data", "", []string{"top", "--once", "--data", data}},
		{"top --once $HINTFLEET_DATA", data, []string{"top", "--once"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(cluster.EnvData, tc.env)
			if r := cli(t, tc.args...); r.code != 0 {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
		})
	}

	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(fleettest.Problems(1)))
	wrong := filepath.Join(t.TempDir(), "nofleet")
	other := clustertest.Start(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"second up", []string{"up", "--data", data, "--workers", "0", "--listen", "127.0.0.1:0"}, inUse},
		{"coordinator of another fleet", []string{"coordinator", "--data", data, "--insecure", "--listen", "127.0.0.1:0",
			"--nats", other.Endpoints().NATS[0], "--etcd", other.Endpoints().Etcd[0]}, inUse + ", on another etcd cluster"},
		{"submit wrong --data", []string{"submit", problems, "--data", wrong}, "--data " + wrong + ": no such directory"},
		{"worker wrong --data", []string{"worker", "--data", wrong, "--engine", "http://127.0.0.1:1"}, "--data " + wrong + ": no such directory"},
		{"worker without any source", []string{"worker", "--engine", "http://127.0.0.1:1"}, "tried --data (not given), --endpoints (not given), $HINTFLEET_DATA (unset)"},
		{"top wrong --data", []string{"top", "--once", "--data", wrong}, "--data " + wrong + ": no such directory"},
		{"jobs --data of a file", []string{"jobs", "--data", problems}, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 saying %q", r.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "no --model") {
				t.Errorf("stderr %q blames --model for a wrong fleet", r.stderr)
			}
		})
	}
	if after := mustReadEndpoints(t, data); after != before {
		t.Errorf("endpoints.json changed under the running fleet:\nbefore %s\nafter %s", before, after)
	}
	if got := status(t, ep.API+"/healthz", ""); got != 200 {
		t.Errorf("the running fleet's /healthz: %d after the refused starts", got)
	}
}

// TestTopPlainAndCounts (findings 5, 6 and 7): without a terminal top
// prints one plain snapshot (no escape codes, nothing of bubbletea) or
// --json, its errors say "top" once; a job no worker can take says so at
// submit, and status, jobs and top show it queued, not "in flight", with
// its whole id.
func TestTopPlainAndCounts(t *testing.T) {
	t.Setenv(cluster.EnvData, "")
	t.Setenv(cluster.EnvAPI, "")
	data := filepath.Join(t.TempDir(), "fleet")
	ep := runUp(t, data)
	eventually.True(t, time.Minute, "the coordinator leads", func() bool {
		c, err := coordinator.NewClient(ep.API, nil)
		if err != nil {
			return false
		}
		h, err := c.Health(t.Context())
		return err == nil && h["leader"] == true
	})
	problems := writeFile(t, "problems.jsonl", fleettest.JSONL(fleettest.Problems(3)))

	r := cli(t, "submit", problems, "--data", data, "--model", "qwq-typo", "--samples", "2")
	if r.code != 0 || !strings.Contains(r.stderr, `waiting for a worker of model "qwq-typo" (no worker is registered)`) {
		t.Fatalf("submit for a model no worker serves: exit %d, stderr %q; want it accepted, saying what it waits for", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)

	r = cli(t, "top", "--data", data)
	if r.code != 0 || strings.Contains(r.stdout, "\x1b[") || !strings.Contains(r.stdout, "JOBS") {
		t.Fatalf("top without a terminal: exit %d, stderr %q, stdout %q; want one plain snapshot", r.code, r.stderr, r.stdout)
	}
	for _, want := range []string{id + " ", "queued 6  running 0", `waiting for a worker of model "qwq-typo"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("top lacks %q:\n%s", want, r.stdout)
		}
	}
	snap := jsonOf[struct {
		Jobs []struct {
			ID      string `json:"id"`
			Queued  int    `json:"queued"`
			Running int    `json:"running"`
		} `json:"jobs"`
	}](t, cli(t, "top", "--data", data, "--json"))
	if len(snap.Jobs) != 1 || snap.Jobs[0].ID != id || snap.Jobs[0].Queued != 6 {
		t.Errorf("top --json = %+v, want job %s with 6 queued", snap, id)
	}

	r = cli(t, "jobs", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "QUEUED") || !strings.Contains(r.stdout, id) || strings.Contains(r.stdout, "IN FLIGHT") {
		t.Errorf("jobs: exit %d\n%s\nwant QUEUED and RUNNING columns and the whole id", r.code, r.stdout)
	}
	r = cli(t, "status", id, "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "queued") || !strings.Contains(r.stdout, "waiting") {
		t.Errorf("status %s: exit %d\n%s\nwant queued and waiting lines", id, r.code, r.stdout)
	}

	prefix := id[:len(id)-3]
	r = cli(t, "status", prefix, "--data", data, "--json")
	if one := jsonOf[map[string]any](t, r); one["id"] != id {
		t.Errorf("status %s (a prefix) = %v, want job %s", prefix, one["id"], id)
	}
	r = cli(t, "cancel", prefix, "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, id+" cancelled") {
		t.Errorf("cancel %s (a prefix): exit %d, stdout %q, stderr %q; want %s cancelled", prefix, r.code, r.stdout, r.stderr, id)
	}

	// submit --wait says what it waits for instead of waiting without a
	// word; Ctrl-C (the context's end) stops the wait, not the job.
	wctx, stopWait := context.WithCancel(t.Context())
	var waitOut, waitErr syncBuffer
	waited := make(chan int, 1)
	go func() {
		waited <- execute(wctx, []string{"submit", problems, "--data", data, "--model", "later", "--id", "waiter", "--wait"}, &waitOut, &waitErr)
	}()
	eventually.True(t, time.Minute, "submit --wait says it waits for a worker", func() bool {
		return strings.Contains(waitErr.String(), `job waiter: waiting for a worker of model "later" (no worker is registered)`)
	})
	stopWait()
	if code := <-waited; code == 0 {
		t.Errorf("submit --wait stopped before the job ended: exit 0, stderr %q", waitErr.String())
	}
	left := jsonOf[coordinator.Job](t, cli(t, "status", "waiter", "--data", data, "--json"))
	if left.State.Terminal() || left.Counts.Queued != 3 {
		t.Errorf("status waiter after the wait stopped: %s with %+v; want the job going on, 3 queued", left.State, left.Counts)
	}

	r = cli(t, "top", "--api", "http://127.0.0.1:1")
	if r.code != 1 || strings.Count(r.stderr, "top:") > 1 {
		t.Errorf("top of nothing: exit %d, stderr %q; want 1 with \"top:\" at most once", r.code, r.stderr)
	}
}

// TestServersOwnData: `servers` owns its --data as `up` does; a second one
// on the same folder exits at once, naming the owner.
func TestServersOwnData(t *testing.T) {
	dir := t.TempDir()
	l, err := cluster.LockData(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := cli(t, "servers", "--data", dir, "--name", "n1", "--peers", "n1=127.0.0.1:1", "--insecure")
	if want := fmt.Sprintf("%s is in use by pid %d", dir, os.Getpid()); r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("servers on an owned --data: exit %d, stderr %q; want 1 saying %q", r.code, r.stderr, want)
	}
}

// TestUpChecksDatasetsAtStart (finding 8): a --datasets-dir that does not
// exist stops `up` at start, naming the flag, instead of at the first job.
func TestUpChecksDatasetsAtStart(t *testing.T) {
	t.Setenv(trajectory.DatasetsEnv, "")
	missing := filepath.Join(t.TempDir(), "nope")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := execute(ctx, []string{"up", "--data", t.TempDir(), "--workers", "0", "--listen", "127.0.0.1:0", "--insecure",
		"--datasets-dir", missing}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--datasets-dir: find datasets: datasets folder "+missing) {
		t.Errorf("up --datasets-dir %s: exit %d, stderr %q; want 1 naming the folder", missing, code, errOut.String())
	}
}

// TestFleetFlagsAlike (finding 12): every command that talks to the fleet
// has --data and --endpoints, with one help text each; the clients also
// have --api with one help text. worker and coordinator refused --data.
func TestFleetFlagsAlike(t *testing.T) {
	root := newRootCmd()
	usage := map[string]map[string]string{} // flag → usage → commands
	for _, name := range []string{"worker", "coordinator", "submit", "status", "jobs", "cancel", "top"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		flags := []string{"data", "endpoints"}
		if name != "worker" && name != "coordinator" {
			flags = append(flags, "api")
		}
		for _, f := range flags {
			fl := c.Flags().Lookup(f)
			if fl == nil {
				t.Errorf("%s has no --%s", name, f)
				continue
			}
			if usage[f] == nil {
				usage[f] = map[string]string{}
			}
			usage[f][fl.Usage] += name + " "
		}
	}
	for f, u := range usage {
		if len(u) != 1 {
			t.Errorf("--%s has %d help texts: %v", f, len(u), u)
		}
	}
}
