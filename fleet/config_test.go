package fleet

import (
	"testing"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/plugins/host"
	"github.com/hintfleet/hintfleet/worker"
)

// TestWorkersResolve: what a worker's flags leave unset comes from the
// environment, and the flags win where they say something.
func TestWorkersResolve(t *testing.T) {
	env := map[string]string{EnvNodeName: "node-7", EnvVisibleDevices: "0,1", engine.APIKeyEnv: "env-key"}
	for _, tc := range []struct {
		name         string
		w            Workers
		getenv       map[string]string
		wantHost     string
		wantDevices  string
		wantKey      bool
		wantPlugins  bool
		wantPluginOf string
	}{
		{name: "environment", w: Workers{Plugins: host.Source{Dir: "p"}}, getenv: env,
			wantHost: "node-7", wantDevices: "0,1", wantKey: true, wantPlugins: true, wantPluginOf: "p"},
		{name: "flags win", w: Workers{APIKey: "flag-key", Config: worker.Config{Hostname: "flag-host"}}, getenv: env,
			wantHost: "flag-host", wantDevices: "0,1", wantKey: true, wantPlugins: true},
		{name: "no tools", w: Workers{NoTools: true, Plugins: host.Source{Dir: "p"}}, getenv: env,
			wantHost: "node-7", wantDevices: "0,1", wantKey: true},
		{name: "empty environment", w: Workers{}, getenv: map[string]string{}, wantPlugins: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			n := w.resolve(func(k string) string { return tc.getenv[k] }, nil)
			if w.Config.Hostname != tc.wantHost {
				t.Errorf("Hostname = %q, want %q", w.Config.Hostname, tc.wantHost)
			}
			if n.VisibleDevices != tc.wantDevices {
				t.Errorf("VisibleDevices = %q, want %q", n.VisibleDevices, tc.wantDevices)
			}
			if got := len(n.EngineOptions) == 1; got != tc.wantKey {
				t.Errorf("an API key option = %v, want %v (%d options)", got, tc.wantKey, len(n.EngineOptions))
			}
			if got := n.Plugins != nil; got != tc.wantPlugins {
				t.Fatalf("plugins started = %v, want %v", got, tc.wantPlugins)
			}
			if tc.wantPlugins && n.Plugins.Dir != tc.wantPluginOf {
				t.Errorf("plugins dir = %q, want %q", n.Plugins.Dir, tc.wantPluginOf)
			}
		})
	}
}
