package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/redact"
)

// Debian 12's packages of the servers (`make deps` installs them): the
// oldest releases hintfleet supports (cluster.MinNATSVersion,
// cluster.MinEtcdVersion).
const (
	debianNATS = "/usr/sbin/nats-server"
	debianEtcd = "/usr/bin/etcd"
)

// debianServers starts Debian's nats-server (JetStream, the coordinator and
// worker users with the worker's permissions, as `up` locks its own) and
// etcd as external servers, writes an endpoints file for them into the
// fleet's dir and connects the harness. It returns the NATS password files
// of the two roles.
func (f *fleet) debianServers() (coordPass, workerPass string) {
	t := f.t
	t.Helper()
	for _, p := range []string{debianNATS, debianEtcd} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not installed (make deps installs Debian's nats-server and etcd-server): %v", p, err)
		}
	}
	dir := t.TempDir()
	coordPass, workerPass = filepath.Join(dir, "coordinator.password"), filepath.Join(dir, "worker.password")
	secret := func(path, s string) {
		if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secret(coordPass, "coordinator-"+strconv.Itoa(os.Getpid()))
	secret(workerPass, "worker-"+strconv.Itoa(os.Getpid()))

	natsPort := freePort(t)
	// nats-server reads JSON as configuration; the permissions are the
	// embedded server's own, marshalled.
	conf := map[string]any{
		"host": "127.0.0.1", "port": natsPort, "max_payload": 8 << 20,
		"jetstream": map[string]any{"store_dir": filepath.Join(dir, "nats")},
		"authorization": map[string]any{"users": []map[string]any{
			{"user": cluster.NATSCoordinatorUser, "password": "coordinator-" + strconv.Itoa(os.Getpid())},
			{"user": cluster.NATSWorkerUser, "password": "worker-" + strconv.Itoa(os.Getpid()), "permissions": cluster.WorkerPermissions()},
		}},
	}
	// Its parser knows no \u escapes: keep '>' as it is.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(conf); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := startPath(t, "nats-server", debianNATS, "-c", confPath)
	ns.waitLine(t, "Server is ready", startLimit)

	client, peer := "http://127.0.0.1:"+strconv.Itoa(freePort(t)), "http://127.0.0.1:"+strconv.Itoa(freePort(t))
	etcd := startPath(t, "etcd", debianEtcd, "--name", "debian", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "debian="+peer,
		"--logger", "zap", "--log-outputs", "stderr")
	etcd.waitLine(t, "serving client traffic", startLimit)

	tokens := filepath.Join(dir, "api-tokens")
	secret(tokens, "admin debian-api-token-"+strconv.Itoa(os.Getpid()))
	ep := cluster.Endpoints{NATS: []string{"nats://127.0.0.1:" + strconv.Itoa(natsPort)}, Etcd: []string{client}, APITokenFile: tokens, Data: f.dir}
	if err := cluster.WriteEndpoints(f.dir, ep); err != nil {
		t.Fatal(err)
	}
	cfg := ep.Config()
	cfg.NATS.User, cfg.NATS.Password = cluster.NATSCoordinatorUser, redact.Secret("coordinator-"+strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), startLimit)
	defer cancel()
	conn, err := cluster.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	f.conn = conn
	st, err := conn.Etcd.Status(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("servers: nats-server %s, etcd %s", conn.NATS.ConnectedServerVersion(), st.Version)
	if !strings.HasPrefix(conn.NATS.ConnectedServerVersion(), "2.9.") || !strings.HasPrefix(st.Version, "3.4.") {
		t.Fatalf("want Debian 12's nats-server 2.9 and etcd 3.4, got %s and %s", conn.NATS.ConnectedServerVersion(), st.Version)
	}
	return coordPass, workerPass
}

// TestDebianServers runs a job through Debian's packaged nats-server 2.9
// and etcd 3.4 as external servers: a coordinator and two workers (the
// worker NATS user with its restricted permissions), every task exactly
// once in the output.
func TestDebianServers(t *testing.T) {
	path, ps := writeProblems(t, 6, false)
	f := &fleet{t: t, dir: t.TempDir(), problems: path}
	coordPass, workerPass := f.debianServers()
	f.startSim("--speedup", "20")
	c := f.startCoord("coord", 0, "--nats-user", cluster.NATSCoordinatorUser, "--nats-password-file", coordPass)
	f.waitLeader(c)
	for _, id := range []string{"w1", "w2"} {
		f.startWorker(id, 4, "--nats-user", cluster.NATSWorkerUser, "--nats-password-file", workerPass)
	}
	job := f.submit(c.api, "debian", 2)
	if j := f.waitJob(job, jobLimit); j.State != "done" {
		t.Fatalf("job %s ended %s: %+v", job, j.State, j.Counts)
	}
	f.count(job, ps, 2)
}
