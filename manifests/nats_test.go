package manifests

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"

	"github.com/hintfleet/hintfleet/cluster"
)

// TestNATSConfigPermissions runs a real NATS server from the nats.conf
// the manifests ship (TLS files and ports swapped for the test's) and
// connects with client certificates named as cert-manager issues them:
// the coordinator sets up the streams; the worker does everything a
// worker does (its consumers, pulls, acks, results, checkpoints) and
// nothing more (no stream, no task published); a certificate of the same
// CA with another name is refused.
func TestNATSConfigPermissions(t *testing.T) {
	objs := build(t, "base")
	conf := find[*corev1.ConfigMap](t, objs, "ConfigMap", "nats-config").Data["nats.conf"]
	dir := t.TempDir()
	pki := newPKI(t, dir)
	conf = strings.NewReplacer(
		"/etc/nats/tls/tls.crt", pki.file("server.crt"),
		"/etc/nats/tls/tls.key", pki.file("server.key"),
		"/etc/nats/tls/ca.crt", pki.file("ca.crt"),
		"/data/jetstream", filepath.Join(dir, "js"),
	).Replace(conf)
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("POD_NAME", "nats-0")
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats.conf does not parse: %v", err)
	}
	if !opts.TLSMap || opts.TLSConfig == nil || opts.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert || !opts.SyncAlways {
		t.Errorf("nats.conf: verify_and_map %v, client certificates required %v, sync always %v; want all",
			opts.TLSMap, opts.TLSConfig != nil && opts.TLSConfig.ClientAuth == tls.RequireAndVerifyClientCert, opts.SyncAlways)
	}
	// The manifest's worker user may do what `hintfleet up`'s may, no more.
	found := false
	for _, u := range opts.Users {
		if u.Username != "hintfleet-worker" {
			continue
		}
		found = true
		want := cluster.WorkerPermissions()
		if got := u.Permissions; got == nil || got.Publish == nil || got.Subscribe == nil ||
			!sameSet(got.Publish.Allow, want.Publish.Allow) || !sameSet(got.Subscribe.Allow, want.Subscribe.Allow) {
			t.Errorf("nats.conf worker permissions %+v differ from cluster.WorkerPermissions %+v", got, want)
		}
	}
	if !found {
		t.Error("nats.conf has no user hintfleet-worker")
	}
	// One server, on ports of the test's choosing.
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.Cluster = server.ClusterOpts{}
	opts.Routes, opts.RoutesStr = nil, ""
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	coord := pki.connect(t, ns.ClientURL(), "hintfleet-coordinator")
	cjs, err := jetstream.New(coord)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.EnsureStreams(ctx, cjs, cluster.StreamOptions{}); err != nil {
		t.Fatalf("coordinator: ensure streams: %v", err)
	}
	if _, err := cjs.Publish(ctx, cluster.TaskSubject("pool", "job"), []byte("task")); err != nil {
		t.Fatalf("coordinator: publish a task: %v", err)
	}

	worker := pki.connect(t, ns.ClientURL(), "hintfleet-worker")
	wjs, err := jetstream.New(worker)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wjs.Stream(ctx, cluster.StreamTasks); err != nil {
		t.Errorf("worker: look up TASKS: %v", err)
	}
	if _, err := cluster.EnsureWorkerConsumer(ctx, wjs, "pool", "w1", cluster.ConsumerOptions{}); err != nil {
		t.Errorf("worker: its own consumer: %v", err)
	}
	cons, err := cluster.EnsurePoolConsumer(ctx, wjs, "pool", cluster.ConsumerOptions{})
	if err != nil {
		t.Fatalf("worker: pool consumer: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("worker: fetch: %v", err)
	}
	got := 0
	for m := range batch.Messages() {
		got++
		if err := m.DoubleAck(ctx); err != nil {
			t.Errorf("worker: ack: %v", err)
		}
	}
	if got != 1 || batch.Error() != nil {
		t.Errorf("worker: fetched %d tasks (%v), want 1", got, batch.Error())
	}
	if _, err := wjs.Publish(ctx, cluster.ResultSubject("job"), []byte("result")); err != nil {
		t.Errorf("worker: publish a result: %v", err)
	}
	kv, err := wjs.KeyValue(ctx, cluster.BucketCheckpoints)
	if err != nil {
		t.Fatalf("worker: open checkpoints: %v", err)
	}
	if _, err := kv.Put(ctx, "task-1", []byte("partial")); err != nil {
		t.Errorf("worker: put checkpoint: %v", err)
	}
	if e, err := kv.Get(ctx, "task-1"); err != nil || string(e.Value()) != "partial" {
		t.Errorf("worker: get checkpoint: %v", err)
	}
	if err := kv.Delete(ctx, "task-1"); err != nil {
		t.Errorf("worker: delete checkpoint: %v", err)
	}

	// What a worker must not do. A denied publish gets no answer.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	if _, err := wjs.CreateStream(short, jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}}); err == nil {
		t.Error("worker created a stream")
	}
	short2, cancelShort2 := context.WithTimeout(ctx, time.Second)
	defer cancelShort2()
	if _, err := wjs.Publish(short2, cluster.TaskSubject("pool", "job"), []byte("forged task")); err == nil {
		t.Error("worker published a task")
	}
	short3, cancelShort3 := context.WithTimeout(ctx, time.Second)
	defer cancelShort3()
	if err := wjs.DeleteStream(short3, cluster.StreamResults); err == nil {
		t.Error("worker deleted RESULTS")
	}

	if nc, err := pki.dial(ns.ClientURL(), "intruder"); err == nil {
		nc.Close()
		t.Error("a certificate of the CA with another name connected")
	}
}

// pki is a throwaway CA and its certificates, named as certificates.yaml
// names them (CN and DNS SAN).
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPool *x509.CertPool
	serial int64
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hintfleet-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, ca: ca, caKey: key, caPool: x509.NewCertPool(), serial: 1}
	p.caPool.AddCert(ca)
	p.write(t, "ca.crt", "CERTIFICATE", der)
	p.issue(t, "server", "nats", x509.ExtKeyUsageServerAuth, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	for _, who := range []string{"hintfleet-coordinator", "hintfleet-worker", "intruder"} {
		p.issue(t, who, who, x509.ExtKeyUsageClientAuth, []string{who}, nil)
	}
	return p
}

func (p *pki) file(name string) string { return filepath.Join(p.dir, name) }

func (p *pki) write(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(p.file(name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *pki) issue(t *testing.T, file, cn string, usage x509.ExtKeyUsage, dns []string, ips []net.IP) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: dns, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, file+".crt", "CERTIFICATE", der)
	p.write(t, file+".key", "EC PRIVATE KEY", kder)
}

func (p *pki) dial(url, who string) (*nats.Conn, error) {
	cert, err := tls.LoadX509KeyPair(p.file(who+".crt"), p.file(who+".key"))
	if err != nil {
		return nil, err
	}
	return nats.Connect(url, nats.Secure(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: p.caPool, MinVersion: tls.VersionTLS12}),
		nats.MaxReconnects(0), nats.Timeout(5*time.Second),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // denials are the test's to check
}

func (p *pki) connect(t *testing.T, url, who string) *nats.Conn {
	t.Helper()
	nc, err := p.dial(url, who)
	if err != nil {
		t.Fatalf("connect as %s: %v", who, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(x string) bool { return !slices.Contains(b, x) })
}
