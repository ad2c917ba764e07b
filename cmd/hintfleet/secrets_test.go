package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/internal/fleettest"
)

// syncBuffer is a log sink two goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFleetLeaksNoSecret runs a locked fleet (up, a worker joining through
// endpoints.json with the worker's NATS user, a job submitted and waited
// for through the CLI) with secrets planted everywhere a user puts them:
// the engine API key, a password in the engine URL, and the generated API
// token and NATS and etcd passwords. It then searches every log line, the
// API's answers (jobs, workers, trajectories, metrics, health), the
// worker's metrics and health, and every etcd key and value for any of
// them. Before, the engine URL's password showed in the worker's log, its
// registration, /v1/workers, /healthz and the engine label of /metrics.
func TestFleetLeaksNoSecret(t *testing.T) {
	const engineKey = "planted-engine-key-3b9e0c"
	const urlPass = "planted-url-pass-8d21f7"
	t.Setenv(engine.APIKeyEnv, engineKey)
	ps := fleettest.Problems(4)
	_, ec := fleettest.StartSim(t, ps, nil)
	engineURL := strings.Replace(ec.BaseURL(), "http://", "http://alice:"+urlPass+"@", 1)

	dir := t.TempDir()
	data := filepath.Join(dir, "fleet")
	problems := filepath.Join(dir, "problems.jsonl")
	if err := os.WriteFile(problems, []byte(fleettest.JSONL(ps)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	var wg sync.WaitGroup
	failed := make(chan struct{})
	var failOnce sync.Once
	start := func(name string, args ...string) {
		root := newRootCmd()
		root.SetOut(&logs)
		root.SetErr(&logs)
		root.SetArgs(args)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := root.ExecuteContext(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", name, err)
				failOnce.Do(func() { close(failed) })
			}
		}()
	}
	defer wg.Wait()
	defer cancel()
	start("up", "up", "--data", data, "--workers", "0", "--listen", "127.0.0.1:0", "--log-level", "debug")
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	ep, err := cluster.WaitEndpoints(wctx, data)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	for leads := false; !leads; {
		resp, err := http.Get(ep.API + "/healthz")
		if err == nil {
			var h struct{ Leader bool }
			leads = json.NewDecoder(resp.Body).Decode(&h) == nil && h.Leader
			resp.Body.Close()
		}
		select {
		case <-wctx.Done():
			t.Fatalf("no leader\n%s", logs.String())
		case <-time.After(50 * time.Millisecond): // poll the health endpoint
		}
	}
	start("worker", "worker", "--endpoints", cluster.EndpointsPath(data), "--engine", engineURL, "--id", "w1",
		"--no-tools", "--metrics-listen", "127.0.0.1:0", "--simulate-gpus", "1", "--log-level", "debug")
	out, err := run(t, "submit", problems, "--data", data, "--model", fleettest.Model, "--id", "leak", "--samples", "2", "--json")
	if err != nil {
		t.Fatalf("submit: %v\n%s\n%s", err, out, logs.String())
	}
	for done := false; !done; {
		st, err := run(t, "status", "leak", "--data", data, "--json")
		done = err == nil && strings.Contains(st, `"state": "done"`)
		if err == nil && strings.Contains(st, `"state": "failed"`) {
			t.Fatalf("job failed: %s", st)
		}
		select {
		case <-failed:
			t.Fatalf("a fleet process failed\n%s", logs.String())
		case <-wctx.Done():
			t.Fatalf("job not done within the deadline: %s\n%s", st, logs.String())
		case <-time.After(200 * time.Millisecond): // poll the job's state
		}
	}

	secrets := map[string]string{"engine api key": engineKey, "engine url password": urlPass}
	for name, path := range map[string]string{"nats coordinator": ep.Credentials.NATSCoordinator,
		"nats worker": ep.Credentials.NATSWorker, "etcd root": ep.Credentials.EtcdRoot} {
		s, err := cluster.ReadSecretFile(path)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = s.Reveal()
	}
	token, err := coordinator.ClientToken(ep.APITokenFile, "")
	if err != nil {
		t.Fatal(err)
	}
	secrets["api token"] = token

	seen := map[string]string{"cli output": out}
	get := func(name, url string) string {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		seen[name] = string(b)
		return string(b)
	}
	for _, p := range []string{"/v1/jobs", "/v1/jobs/leak", "/v1/jobs/leak/trajectories", "/v1/jobs/leak/dead_letters", "/metrics", "/healthz"} {
		get("api "+p, ep.API+p)
	}
	var workers []struct {
		ID         string `json:"id"`
		MetricsURL string `json:"metrics_url"`
	}
	if err := json.Unmarshal([]byte(get("api /v1/workers", ep.API+"/v1/workers")), &workers); err != nil || len(workers) == 0 {
		t.Fatalf("/v1/workers: %v %s", err, seen["api /v1/workers"])
	}
	for _, w := range workers {
		if w.MetricsURL == "" {
			t.Fatalf("worker %s advertises no metrics URL", w.ID)
		}
		base := strings.TrimSuffix(w.MetricsURL, "/metrics")
		get("worker /metrics", base+"/metrics")
		get("worker /healthz", base+"/healthz")
	}
	if !strings.Contains(seen["worker /metrics"], "hintfleet_") {
		t.Errorf("worker metrics look empty: %.300s", seen["worker /metrics"])
	}
	cfg, err := ep.ConfigFor(cluster.NATSCoordinatorUser)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kvs, err := conn.Etcd.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	var etcd strings.Builder
	for _, kv := range kvs.Kvs {
		etcd.Write(kv.Key)
		etcd.WriteByte('=')
		etcd.Write(kv.Value)
		etcd.WriteByte('\n')
	}
	seen["etcd"] = etcd.String()
	if !strings.Contains(seen["etcd"], "/hintfleet/workers/w1") {
		t.Errorf("etcd holds no registration of w1:\n%.500s", seen["etcd"])
	}
	cancel()
	wg.Wait()
	seen["logs"] = logs.String()
	for where, text := range seen {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows the %s", where, what)
			}
		}
	}
	if !strings.Contains(seen["api /v1/workers"], strings.TrimPrefix(ec.BaseURL(), "http://")) {
		t.Errorf("/v1/workers does not name the engine at all: %.300s", seen["api /v1/workers"])
	}
}
