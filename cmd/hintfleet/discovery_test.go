package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/internal/fleettest"
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
