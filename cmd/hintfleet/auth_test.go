package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
)

// runUp runs `hintfleet up --workers 0` in-process until the test ends and
// returns its endpoints.
func runUp(t *testing.T, data string, extra ...string) cluster.Endpoints {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	root := newRootCmd()
	var logs bytes.Buffer
	root.SetErr(&logs)
	root.SetOut(&logs)
	root.SetArgs(append([]string{"up", "--data", data, "--workers", "0", "--listen", "127.0.0.1:0"}, extra...))
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up: %v\n%s", err, logs.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	ep, err := cluster.WaitEndpoints(wctx, data)
	if err != nil {
		t.Fatalf("wait for endpoints: %v\n%s", err, logs.String())
	}
	return ep
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUpSecureByDefault: `up` generates an admin token in DATA (0600,
// named by endpoints.json), its API refuses requests without it, and the
// CLI finds it through --data; DATA is 0750. --insecure serves anyone.
// Before, the API had no authentication at all and DATA was 0755.
func TestUpSecureByDefault(t *testing.T) {
	data := filepath.Join(t.TempDir(), "fleet")
	ep := runUp(t, data)
	if ep.APITokenFile == "" {
		t.Fatal("endpoints.json names no API token file")
	}
	for path, want := range map[string]os.FileMode{data: 0o750, ep.APITokenFile: 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, st.Mode().Perm(), want)
		}
	}
	b, err := os.ReadFile(ep.APITokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(mustReadEndpoints(t, data), strings.Fields(strings.SplitN(string(b), "admin ", 2)[1])[0]) {
		t.Error("endpoints.json holds the token itself")
	}
	token, err := coordinator.ClientToken(ep.APITokenFile, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := status(t, ep.API+"/v1/jobs", ""); got != http.StatusUnauthorized {
		t.Errorf("GET /v1/jobs without a token: %d, want 401", got)
	}
	if got := status(t, ep.API+"/v1/jobs", token); got != http.StatusOK {
		t.Errorf("GET /v1/jobs with up's token: %d, want 200", got)
	}
	if got := status(t, ep.API+"/healthz", ""); got != http.StatusOK {
		t.Errorf("GET /healthz: %d, want 200", got)
	}
	if out, err := run(t, "jobs", "--data", data); err != nil {
		t.Errorf("jobs --data: %v\n%s", err, out)
	}
	if out, err := run(t, "jobs", "--api", ep.API); err == nil || !strings.Contains(out+err.Error(), "401") {
		t.Errorf("jobs without a token: %v\n%s", err, out)
	}
}

func TestUpInsecure(t *testing.T) {
	data := filepath.Join(t.TempDir(), "fleet")
	ep := runUp(t, data, "--insecure")
	if ep.APITokenFile != "" {
		t.Errorf("--insecure still names a token file: %s", ep.APITokenFile)
	}
	if got := status(t, ep.API+"/v1/jobs", ""); got != http.StatusOK {
		t.Errorf("GET /v1/jobs on an --insecure API: %d, want 200", got)
	}
}

func mustReadEndpoints(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(cluster.EndpointsPath(data))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
