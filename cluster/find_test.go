package cluster_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
)

// TestFind: every source in its order, and an unusable source is an error
// naming it, never a fall-through (finding 12: `--endpoints DIR` failed "is
// a directory", a wrong --data said "no --model given").
func TestFind(t *testing.T) {
	root := t.TempDir()
	fleetDir := filepath.Join(root, "fleet")
	envDir := filepath.Join(root, "envfleet")
	noAPIDir := filepath.Join(root, "noapi")
	emptyDir := filepath.Join(root, "empty")
	for dir, api := range map[string]string{fleetDir: "http://127.0.0.1:9001", envDir: "http://127.0.0.1:9002", noAPIDir: ""} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := cluster.WriteEndpoints(dir, cluster.Endpoints{API: api, NATS: []string{"nats://n"}, Etcd: []string{"http://e"},
			APITokenFile: filepath.Join(dir, "api-tokens"), Data: dir, Model: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(emptyDir, 0o750); err != nil {
		t.Fatal(err)
	}
	plainFile := filepath.Join(root, "plain")
	if err := os.WriteFile(plainFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	none := env()
	for _, tc := range []struct {
		name     string
		w        cluster.Where
		need     cluster.Need
		api      string // want Fleet.API
		file     string // want Fleet.EndpointsFile
		from     string // want a prefix of Fleet.From
		err      string // want an error containing this
		notFound bool   // want a *NotFoundError
	}{
		{name: "data", w: cluster.Where{Data: fleetDir, Getenv: none}, api: "http://127.0.0.1:9001", file: cluster.EndpointsPath(fleetDir), from: "--data"},
		{name: "data beats the environment", w: cluster.Where{Data: fleetDir, Getenv: env(cluster.EnvData, envDir, cluster.EnvAPI, "http://x")},
			api: "http://127.0.0.1:9001", file: cluster.EndpointsPath(fleetDir), from: "--data"},
		{name: "api beside data replaces the URL, keeps the file", w: cluster.Where{Data: fleetDir, API: "http://proxy:1", Getenv: none},
			api: "http://proxy:1", file: cluster.EndpointsPath(fleetDir), from: "--api http://proxy:1 (credentials from --data "},
		{name: "endpoints file", w: cluster.Where{Endpoints: cluster.EndpointsPath(fleetDir), Getenv: none}, api: "http://127.0.0.1:9001",
			file: cluster.EndpointsPath(fleetDir), from: "--endpoints"},
		{name: "endpoints folder", w: cluster.Where{Endpoints: fleetDir, Getenv: none}, api: "http://127.0.0.1:9001",
			file: cluster.EndpointsPath(fleetDir), from: "--endpoints"},
		{name: "api flag beats the environment", w: cluster.Where{API: "http://a:1", Getenv: env(cluster.EnvData, envDir)}, api: "http://a:1", from: "--api"},
		{name: "HINTFLEET_DATA", w: cluster.Where{Getenv: env(cluster.EnvData, envDir, cluster.EnvAPI, "http://x")}, api: "http://127.0.0.1:9002",
			file: cluster.EndpointsPath(envDir), from: "$" + cluster.EnvData},
		{name: "HINTFLEET_API", w: cluster.Where{Getenv: env(cluster.EnvAPI, "http://x:2")}, api: "http://x:2", from: "$" + cluster.EnvAPI},
		{name: "the default port", w: cluster.Where{Getenv: none}, api: cluster.DefaultAPI, from: "the default"},
		{name: "servers from data", w: cluster.Where{Data: fleetDir, Getenv: none}, need: cluster.NeedServers, api: "http://127.0.0.1:9001",
			file: cluster.EndpointsPath(fleetDir), from: "--data"},
		{name: "servers from the environment", w: cluster.Where{Getenv: env(cluster.EnvData, envDir)}, need: cluster.NeedServers,
			api: "http://127.0.0.1:9002", file: cluster.EndpointsPath(envDir), from: "$" + cluster.EnvData},
		{name: "servers: nothing given lists what was tried", w: cluster.Where{Getenv: env(cluster.EnvAPI, "")}, need: cluster.NeedServers,
			err: "tried --data (not given), --endpoints (not given), $HINTFLEET_DATA (unset)", notFound: true},
		{name: "servers: a URL is not enough", w: cluster.Where{Getenv: env(cluster.EnvAPI, "http://x:2")}, need: cluster.NeedServers,
			err: "$HINTFLEET_API=http://x:2: a coordinator URL does not say where NATS and etcd are"},
		{name: "data that does not exist", w: cluster.Where{Data: filepath.Join(root, "nope"), Getenv: env(cluster.EnvAPI, "http://x")},
			err: "--data " + filepath.Join(root, "nope") + ": no such directory"},
		{name: "data without endpoints", w: cluster.Where{Data: emptyDir, Getenv: none},
			err: "--data " + emptyDir + ": no endpoints.json there: is `hintfleet up --data " + emptyDir + "` running?"},
		{name: "data that is a file", w: cluster.Where{Data: plainFile, Getenv: none}, err: "not a directory"},
		{name: "endpoints that do not exist", w: cluster.Where{Endpoints: filepath.Join(root, "nope.json"), Getenv: none},
			err: "--endpoints " + filepath.Join(root, "nope.json") + ": read endpoints"},
		{name: "endpoints that name no API", w: cluster.Where{Data: noAPIDir, Getenv: none},
			err: "names no coordinator API (up ran with --coordinator=false); pass --api URL"},
		{name: "environment data without endpoints", w: cluster.Where{Getenv: env(cluster.EnvData, emptyDir)},
			err: "$" + cluster.EnvData + "=" + emptyDir + ": no endpoints.json there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cluster.Find(tc.w, tc.need)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Find(%+v) error %v, want one containing %q", tc.w, err, tc.err)
				}
				var nf *cluster.NotFoundError
				if errors.As(err, &nf) != tc.notFound || (tc.notFound && !errors.Is(err, cluster.ErrNoAddress)) {
					t.Errorf("error %v: NotFoundError %v, want %v", err, errors.As(err, &nf), tc.notFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("Find(%+v): %v", tc.w, err)
			}
			if got.API != tc.api || got.EndpointsFile != tc.file || !strings.HasPrefix(got.From, tc.from) {
				t.Errorf("Find(%+v) = API %q file %q from %q, want %q %q %q…", tc.w, got.API, got.EndpointsFile, got.From, tc.api, tc.file, tc.from)
			}
			if tc.file != "" && (got.Endpoints.Model != "m" || got.Data == "") {
				t.Errorf("Find(%+v) = %+v: want the file's content and its data dir", tc.w, got)
			}
		})
	}
}
